import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_ALIVE_MS, listen, type RunningServer } from '../../shared/http.js';

describe('listen', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await listen(() => new Response('ok'), '127.0.0.1', 0, 'test server');
  });
  afterAll(() => server.close());

  it('keeps an idle connection open longer than a proxy does (60 s), so the proxy closes it, not a request on it', async () => {
    const keepAlive = await new Promise<string | undefined>((resolve, reject) => {
      const agent = new http.Agent({ keepAlive: true });
      http
        .get(server.url, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            agent.destroy();
            resolve(res.headers['keep-alive']?.toString());
          });
        })
        .on('error', reject);
    });
    expect(KEEP_ALIVE_MS).toBeGreaterThan(60_000);
    expect(keepAlive).toBe(`timeout=${KEEP_ALIVE_MS / 1000}`);
  });
});
