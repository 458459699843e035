/** `npm start` as a user runs it: starts, serves, stops cleanly, keeps data, fails fast. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../platform/process.js';
import { signToken } from '../../platform/auth.js';
import { serverPids, launchScript, type Launched } from '../../dev/stack.js';
import { allGone, killQuietly } from '../helpers.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-start-'));
const ports = { PORT: '18088', ASSIGNMENT_PORT: '18089', PG_PORT: '25442', TEMPORAL_PORT: '17243', TEMPORAL_UI_PORT: '18243' };
const env = { ...ports, DATA_DIR: dataDir, LOG_LEVEL: 'warn', API_METRICS_PORT: '0' };
const api = `http://127.0.0.1:${ports.PORT}`;
const launched: Launched[] = [];
const leftovers = new Set<number>();

afterAll(async () => {
  for (const l of launched) l.kill();
  for (const pid of leftovers) killQuietly(pid);
  rmSync(dataDir, { recursive: true, force: true });
});

async function startStack(): Promise<Launched> {
  const l = launchScript('start', env);
  launched.push(l);
  await l.waitForOutput('Tshop Reserve is running');
  serverPids(dataDir).forEach((pid) => leftovers.add(pid));
  return l;
}

// `any`: bodies are asserted field by field
const call = async (method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> => {
  // The dev stack made its signing secret under the data directory; `npm run token` uses it too.
  const secret = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
  const token = await signToken(secret, { role: 'admin', sub: 'start-test' });
  const res = await fetch(`${api}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};

async function eventuallyStatus(id: string, wanted: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  let status = '';
  while (Date.now() < deadline && status !== wanted) {
    status = (await call('GET', `/reservations/${id}`)).body.status;
    if (status !== wanted) await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

async function stopAndCheck(l: Launched, how: () => void) {
  const pids = serverPids(dataDir);
  expect(pids).toHaveLength(2);
  const sent = Date.now();
  how();
  const { code, at } = await l.exit;
  expect(code).toBe(0);
  expect(at - sent).toBeLessThan(15_000);
  expect(await allGone(pids), 'no postgres or temporal process is left').toBe(true);
}

describe('npm start', () => {
  let reservationId = '';
  let stockAfterReserve = 0;

  it('starts everything, prints where it is, and serves a reservation', async () => {
    const l = await startStack();
    const out = l.stdout();
    for (const text of [`http://localhost:${ports.PORT}/docs`, `http://localhost:${ports.TEMPORAL_UI_PORT}`, dataDir, 'openapi.json']) {
      expect(out).toContain(text);
    }
    // The README's token command works against the running stack.
    const tokenCmd = launchScript('token', { DATA_DIR: dataDir, ...{} }, ['--role', 'customer', '--sub', 'c-42']);
    launched.push(tokenCmd);
    expect((await tokenCmd.exit).code).toBe(0);
    const customerToken = tokenCmd.stdout().trim().split('\n').at(-1)!;
    const mine = await fetch(`${api}/reservations`, { headers: { authorization: `Bearer ${customerToken}` } });
    expect(mine.status).toBe(200);
    expect((await fetch(`${api}/products`)).status).toBe(401);
    expect((await call('GET', '/readyz')).status).toBe(200);
    const products = (await call('GET', '/products')).body.items;
    expect(products.length).toBeGreaterThanOrEqual(5);
    const created = await call('POST', '/reservations', { productId: products[0].id, quantity: 1, customer: { id: 'c-42', district: '마포구' } });
    expect(created.status).toBe(201);
    reservationId = created.body.id;
    expect(await eventuallyStatus(reservationId, 'CONFIRMED')).toBe('CONFIRMED');
    // The catalogue is the sale board's copy, at most a second old.
    const stockNow = async () => (await call('GET', `/products/${products[0].id}`)).body.availableStock as number;
    await expect.poll(stockNow, { timeout: 5_000 }).toBe(products[0].availableStock - 1);
    stockAfterReserve = await stockNow();

    // SIGTERM to npm (as a supervisor sends it) stops every process within 15 s.
    await stopAndCheck(l, () => l.child.kill('SIGTERM'));
  });

  it('finds its data and running workflows intact after a restart', async () => {
    const l = await startStack();
    const kept = await call('GET', `/reservations/${reservationId}`);
    expect(kept.body).toMatchObject({ id: reservationId, status: 'CONFIRMED', store: { id: 'mapo' } });
    await expect.poll(async () => (await call('GET', `/products/${kept.body.product.id}`)).body.availableStock, { timeout: 5_000 }).toBe(stockAfterReserve);
    // Ctrl-C in a terminal signals the whole process group.
    await stopAndCheck(l, () => process.kill(-l.child.pid!, 'SIGINT'));
  });

  it('recovers after being killed outright (SIGKILL leaves servers behind) and loses nothing', async () => {
    const first = await startStack();
    const orphans = serverPids(dataDir);
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exit;
    expect(orphans.every(isAlive), 'SIGKILL gives no chance to clean up').toBe(true);

    const l = await startStack();
    expect(await allGone(orphans), 'the stale servers were stopped').toBe(true);
    const cancel = await call('POST', `/reservations/${reservationId}/cancel`);
    expect(cancel.status).toBe(202);
    expect(await eventuallyStatus(reservationId, 'CANCELLED')).toBe('CANCELLED');
    const product = (await call('GET', `/reservations/${reservationId}`)).body.product.id;
    // The catalogue is the sale board's copy, at most a second old.
    await expect.poll(async () => (await call('GET', `/products/${product}`)).body.availableStock, { timeout: 5_000 }).toBe(stockAfterReserve + 1);
    await stopAndCheck(l, () => l.child.kill('SIGTERM'));
  });
});

describe('npm start fails fast with one clear line', () => {
  async function expectFailure(extraEnv: Record<string, string>, message: RegExp) {
    const l = launchScript('start', { ...env, ...extraEnv });
    launched.push(l);
    const started = Date.now();
    const { code, at } = await l.exit;
    expect(code).not.toBe(0);
    expect(at - started).toBeLessThan(30_000);
    const lines = l.stderr().trim().split('\n').filter((line) => line.startsWith('tshop:'));
    expect(lines, l.stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(l.stderr()).not.toMatch(/\n\s+at /); // no stack trace
    expect(serverPids(dataDir).filter(isAlive)).toEqual([]);
  }

  it('when the API port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(Number(ports.PORT), '0.0.0.0', r));
    try {
      await expectFailure({}, /port 18088 \(API, PORT\) is already in use/);
    } finally {
      blocker.close();
    }
  });

  it('when DATABASE_URL points at nothing', async () => {
    await expectFailure({ DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none' }, /database unreachable at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
  });

  it('when the Temporal CLI cannot be obtained', async () => {
    await expectFailure({ TEMPORAL_CLI_PATH: '/nonexistent/temporal' }, /TEMPORAL_CLI_PATH=\/nonexistent\/temporal is not an executable file/);
  });
});
