import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback, KEEP_ALIVE_MS, listen, type RunningServer } from '../../platform/http.js';

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

  it('knows a loopback address by the connection, IPv4, IPv6 and IPv4 in IPv6, and nothing else', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.5', '192.168.1.20', '::ffff:10.0.0.5', 'fe80::1', '0.0.0.0', '', undefined]) expect(isLoopback(a), String(a)).toBe(false);
  });

  it('closes within moments of answering the requests in flight, though it keeps idle connections a minute', async () => {
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((r) => (answer = r));
    const slow = await listen(async () => {
      await answered;
      return new Response('late');
    }, '127.0.0.1', 0, 'slow server');
    const agent = new http.Agent({ keepAlive: true });
    const reply = new Promise<number>((resolve, reject) => {
      http.get(slow.url, { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    const closed = slow.close();
    answer();
    expect(await reply).toBe(200);
    await closed;
    agent.destroy();
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
