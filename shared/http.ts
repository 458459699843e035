/** Serving a fetch handler over HTTP, for every server the project runs (API, assignment service, metrics). */
import { serve, type ServerType } from '@hono/node-server';
import { StartupError } from './process.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `fetch` over HTTP; rejects with a one-line error when the port is taken. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  what: string,
): Promise<RunningServer> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch, hostname: host, port }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new StartupError(`port ${port} (${what}) is already in use`) : err),
    );
  });
  const shownHost = ['0.0.0.0', '::'].includes(host) ? 'localhost' : host;
  const actualPort = (server.address() as { port: number }).port; // differs from `port` when that is 0
  return {
    url: `http://${shownHost}:${actualPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      }),
  };
}
