/**
 * The web app's back end: the event stream (each caller hears only what the API would show them),
 * the development sign-in (off unless asked for), the launch desk's figures and breaker, and the
 * bundle served with its security headers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listen } from '../../platform/http.js';
import { signToken, type Principal } from '../../platform/auth.js';
import { ADMIN, eventually, newProduct, newStore, readEventStream, TEST_JWT_SECRET, testApp, tokenFor, untilDecided, useTestStack } from '../helpers.js';

const stack = useTestStack();
const webDir = mkdtempSync(path.join(tmpdir(), 'tshop-web-'));
writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Tshop</title><script type="module" src="/app/app-1234.js"></script>');
writeFileSync(path.join(webDir, 'app-1234.js'), 'console.log("tshop")');
const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

// `any`: bodies are asserted field by field
type Body = any;

/** The API over real HTTP (the event stream is a long response), with the web app and the dev sign-in as asked. */
async function serve(options: { devLogin?: boolean; workerMetricsUrls?: string[] } = {}) {
  const { app } = testApp(stack.db, stack.client, stack.worker.taskQueue, undefined, {
    web: { dir: webDir, devLogin: options.devLogin ?? false },
    ...(options.workerMetricsUrls ? { workerMetricsUrls: options.workerMetricsUrls } : {}),
  });
  const server = await listen(app.fetch, '127.0.0.1', 0, 'events test');
  servers.push(server);
  const request = async (p: string, init: RequestInit = {}, as: Principal | null = ADMIN) => {
    const headers = new Headers(init.headers);
    if (as) headers.set('authorization', `Bearer ${await tokenFor(as)}`);
    if (init.body) headers.set('content-type', 'application/json');
    return fetch(`${server.url}${p}`, { ...init, headers });
  };
  return { app, url: server.url, request };
}

/** Reads a caller's event stream into `events` until stopped. */
async function listenAs(api: Awaited<ReturnType<typeof serve>>, as: Principal) {
  const controller = new AbortController();
  const res = await api.request('/events', { signal: controller.signal }, as);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const { events, done } = readEventStream(res);
  await eventually(async () => events.length, (n) => n > 0);
  return { events, stop: () => controller.abort(), done, of: (id: string) => events.filter((e) => e.event === 'reservation' && e.data.id === id).map((e) => e.data.status) };
}

describe('the event stream', () => {
  it('tells each caller of the reservations they may see, as they change: the customer theirs, the staff their store\'s, the admin all', async () => {
    const api = await serve();
    const product = await newProduct(stack.db, 5);
    const store = await newStore(stack.db, 5);
    const owner: Principal = { role: 'customer', sub: `c-events-${product.id}` };
    const stranger: Principal = { role: 'customer', sub: `c-stranger-${product.id}` };
    const staff: Principal = { role: 'store', sub: 'staff-1', storeId: store.id };
    const otherStaff: Principal = { role: 'store', sub: 'staff-2', storeId: `test-elsewhere-${product.id}` };
    const streams = await Promise.all([owner, stranger, staff, otherStaff, ADMIN].map((p) => listenAs(api, p)));
    const [mine, theirs, staffs, otherStaffs, admins] = streams;
    expect(mine!.events[0]!.event).toBe('ready');

    const asOwner = async (p: string, init: RequestInit = {}) => {
      const res = await api.request(p, init, owner);
      return { status: res.status, body: (await res.json()) as Body };
    };
    const reserve = await untilDecided(
      () => asOwner('/reservations', { method: 'POST', body: JSON.stringify({ productId: product.id, customer: { latitude: store.latitude, longitude: store.longitude } }) }),
      (p) => asOwner(p),
    );
    expect(reserve.status).toBe(201);
    const id = reserve.body.id as string;
    await eventually(async () => mine!.of(id), (s) => s.includes('CONFIRMED'));
    const confirmed = mine!.events.find((e) => e.event === 'reservation' && e.data.status === 'CONFIRMED')!.data;
    expect(confirmed.store).toMatchObject({ id: store.id, distanceKm: 0, address: 'test' });
    await eventually(async () => staffs!.of(id), (s) => s.includes('CONFIRMED'));
    await eventually(async () => admins!.of(id), (s) => s.includes('CONFIRMED'));

    expect((await api.request(`/reservations/${id}/cancel`, { method: 'POST', body: '{}' }, owner)).status).toBe(202);
    await eventually(async () => mine!.of(id), (s) => s.includes('CANCELLED'));
    // Someone else's reservation is never heard of.
    expect(theirs!.of(id)).toEqual([]);
    expect(otherStaffs!.of(id)).toEqual([]);
    for (const s of streams) s!.stop();
  });

  it('needs a token, and ends every open stream when the API stops', async () => {
    const api = await serve();
    expect((await api.request('/events', {}, null)).status).toBe(401);
    const s = await listenAs(api, ADMIN);
    await api.app.close();
    await s.done;
  });
});

describe('an open stream and its token', () => {
  /** A stream opened with a token of its own; `closedAfter` is when the server ended it, from `from`. */
  const openWith = async (api: Awaited<ReturnType<typeof serve>>, token: string) => {
    const res = await fetch(`${api.url}/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const { events, done } = readEventStream(res);
    await eventually(async () => events.length, (n) => n > 0);
    return { events, ended: done.then(() => Date.now()) };
  };
  const jtiOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }).jti;

  it('ends within seconds of the token being revoked, in the API process that took the revocation and in another, and the token opens no new one', async () => {
    const [api, other] = [await serve(), await serve()];
    const token = await signToken(TEST_JWT_SECRET, { role: 'customer', sub: `c-revoked-${Date.now()}` }, 600);
    const streams = [await openWith(api, token), await openWith(other, token)];
    const revokedAt = Date.now();
    const revoke = await api.request('/tokens/revocations', { method: 'POST', body: JSON.stringify({ jti: jtiOf(token) }) });
    expect(revoke.status).toBe(201);
    for (const stream of streams) expect((await stream.ended) - revokedAt).toBeLessThan(15_000);
    for (const server of [api, other]) expect((await fetch(`${server.url}/events`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('ends within seconds of the token expiring', async () => {
    const api = await serve();
    const token = await signToken(TEST_JWT_SECRET, { role: 'customer', sub: `c-expiring-${Date.now()}` }, 2);
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
    const stream = await openWith(api, token);
    expect((await stream.ended) - exp * 1000).toBeLessThan(15_000);
  });
});

describe('the development sign-in', () => {
  it('does not exist unless the dev stack turns it on', async () => {
    const api = await serve({ devLogin: false });
    const res = await api.request('/dev/login', { method: 'POST', body: JSON.stringify({ role: 'admin' }) }, null);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('turned on, answers only callers on this host, by the connection\'s address (a forwarded header changes nothing)', async () => {
    const { app } = await serve({ devLogin: true });
    // The Node server hands each request its socket: what the guard reads (@hono/node-server's getConnInfo).
    const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
      app.fetch(new Request('http://api.test/dev/login', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ role: 'admin' }) }), {
        incoming: { socket: { remoteAddress } },
      });
    for (const remote of ['192.0.2.7', '10.1.2.3', 'fe80::1', '::ffff:203.0.113.9']) {
      const res = await from(remote, { 'x-forwarded-for': '127.0.0.1' });
      expect(res.status, remote).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(await res.text()).not.toContain('token');
    }
    expect((await from('::ffff:127.0.0.1')).status).toBe(200);
    expect((await from('::1')).status).toBe(200);
  });

  it('turned on, gives a token for a demo customer, a store\'s staff or the desk, and refuses an unknown store', async () => {
    const api = await serve({ devLogin: true });
    const identities = (await (await api.request('/dev/identities', {}, null)).json()) as Body;
    expect(identities.customers.map((c: Body) => c.sub)).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
    expect(identities.stores.length).toBeGreaterThan(20);
    const login = async (body: unknown) => api.request('/dev/login', { method: 'POST', body: JSON.stringify(body) }, null);
    const customer = (await (await login({ role: 'customer', sub: 'c-1' })).json()) as Body;
    expect(customer).toMatchObject({ role: 'customer', sub: 'c-1', token: expect.any(String) });
    const list = await fetch(`${api.url}/reservations`, { headers: { authorization: `Bearer ${customer.token}` } });
    expect(list.status).toBe(200);
    const staff = (await (await login({ role: 'store', store: identities.stores[0].id })).json()) as Body;
    expect(staff).toMatchObject({ role: 'store', store: identities.stores[0].id });
    expect((await login({ role: 'store', store: 'no-such-store' })).status).toBe(422);
    expect((await login({ role: 'root' })).status).toBe(400);
  });
});

describe('the launch desk', () => {
  it("reads the workers' breakers from their metrics: the worst one shows; none configured is unknown", async () => {
    const metrics = (state: string) =>
      listen(() => new Response(`# TYPE tshop_assignment_breaker_state gauge\ntshop_assignment_breaker_state{state="closed"} ${state === 'closed' ? 1 : 0}\ntshop_assignment_breaker_state{state="open"} ${state === 'open' ? 1 : 0}\n`), '127.0.0.1', 0, 'fake worker metrics');
    const closed = await metrics('closed');
    const open = await metrics('open');
    servers.push(closed, open);
    const desk = async (urls?: string[]) => (await (await (await serve(urls ? { workerMetricsUrls: urls } : {})).request('/launch-desk')).json()) as Body;
    expect((await desk()).breaker.state).toBe('unknown');
    expect((await desk([`${closed.url}/metrics`])).breaker).toEqual({ state: 'closed', detail: '1 of 1 worker(s) closed' });
    expect((await desk([`${closed.url}/metrics`, `${open.url}/metrics`])).breaker).toEqual({ state: 'open', detail: '1 of 2 worker(s) open' });
  });

  it("counts a product's reservations by status and those of the last minute, with its units left", async () => {
    const api = await serve();
    const product = await newProduct(stack.db, 2);
    for (let i = 0; i < 3; i++) {
      await api.request('/reservations', { method: 'POST', body: JSON.stringify({ productId: product.id, customer: { id: `c-desk-${i}` } }) });
    }
    const figures = await eventually(
      async () => ((await (await api.request('/launch-desk')).json()) as Body).products.find((p: Body) => p.id === product.id),
      (p: Body) => (p.counts.CONFIRMED ?? 0) + (p.counts.ACCEPTED ?? 0) === 2,
    );
    expect(figures).toMatchObject({ stock: 0, perMinute: 2, counts: { REJECTED: 1 } });
  });
});

describe('the web app', () => {
  it('is served at / with a policy that allows nothing from elsewhere; its assets under /app/; nothing else', async () => {
    const api = await serve();
    const page = await fetch(`${api.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('/app/app-1234.js');
    const asset = await fetch(`${api.url}/app/app-1234.js`);
    expect([asset.status, asset.headers.get('content-type'), asset.headers.get('cache-control')]).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable']);
    for (const p of ['/app/nothing.js', '/app/..%2Fpackage.json', '/app/index.html']) expect((await fetch(`${api.url}${p}`)).status, p).toBe(404);
  });
});
