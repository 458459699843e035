/** Serving a fetch handler over HTTP, for every server the project runs (API, assignment service, metrics). */
import { BlockList } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { StartupError } from './process.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked against it too
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a connection's own remote address is this host (never a forwarded header's claim). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return LOOPBACK.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}

/** How long an idle kept-alive connection stays open: past the 60 s of common proxies. */
export const KEEP_ALIVE_MS = 65_000;

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
  // Node closes an idle kept-alive connection after 5 s; a client (or a proxy: nginx and most load
  // balancers keep upstream connections 60 s) that sends on it just then gets "socket hang up".
  // Outlasting their idle time leaves the closing to them (nodejs/node#20256).
  Object.assign(server, { keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: KEEP_ALIVE_MS + 1_000 });
  const shownHost = ['0.0.0.0', '::'].includes(host) ? 'localhost' : host;
  const actualPort = (server.address() as { port: number }).port; // differs from `port` when that is 0
  return {
    url: `http://${shownHost}:${actualPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Idle kept-alive connections would hold close() open for KEEP_ALIVE_MS: closed now, and each
        // one a request in flight leaves idle as soon as it is answered.
        const closeIdle = () => (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        const sweep = setInterval(closeIdle, 100);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        closeIdle();
      }),
  };
}
