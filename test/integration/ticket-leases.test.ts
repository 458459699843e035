/**
 * A place in line whose holder keeps following it is never lost to a part of the system blinking:
 * PostgreSQL going away just as its lease is renewed (the renewal is kept and written, dated at the
 * ask, once the database is back); and a place followed by an event stream alone stays alive past
 * its first leases. Real API, PostgreSQL (a database of this file's own, so that closing it to
 * connections touches no other file), Temporal and worker.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { LinePolicy } from '../../api/deps.js';
import type { Database } from '../../db/schema.js';
import type { Principal } from '../../platform/auth.js';
import { listen } from '../../platform/http.js';
import { ADMIN, eventually, newProduct, openTestDb, readEventStream, testApp, tokenFor, useTestStack } from '../helpers.js';

const stack = useTestStack({ ownDatabase: true });
/**
 * A short lease, renewed once half of it has gone; the sale board read every 2 s, so a poll just
 * after the database went away is still answered from memory (as it is for up to two reads' time).
 */
const LEASE_MS = 8_000;
const LINE: LinePolicy = { leaseMs: LEASE_MS, tickMs: 50, maxBatch: 200, retryAfterMs: 5_000, boardEveryMs: 2_000, sampleEveryMs: 1_000 };

// `any`: bodies are asserted field by field
type Body = any;
type Api = ReturnType<typeof testApp>;
const apps: Api[] = [];
let admin: Kysely<Database>;
let database: string;
beforeAll(async () => {
  admin = await openTestDb();
  database = new URL(stack.databaseUrl).pathname.slice(1);
});
afterEach(async () => {
  await databaseBack();
});
afterAll(async () => {
  for (const api of apps) await api.app.close();
  await admin?.destroy();
});

/**
 * What a PostgreSQL restart does to a client: every connection to this file's database ends
 * ("terminating connection due to administrator command") and new ones are refused until it is back.
 */
async function databaseAway() {
  await sql`alter database ${sql.id(database)} with allow_connections false`.execute(admin);
  await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`.execute(admin);
}
async function databaseBack() {
  await sql`alter database ${sql.id(database)} with allow_connections true`.execute(admin);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

function customer(): Extract<Principal, { role: 'customer' }> {
  const digits = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
  return { role: 'customer', sub: `c-lease-${randomBytes(4).toString('hex')}`, phone: `+8210${digits}` };
}

async function call(api: Api, method: string, path: string, body?: unknown, as: Principal = ADMIN) {
  const res = await api.request(path, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) }, as);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
}

/** The holder's page: asks every half second until `untilMs` (an answer may be an outage's 503). */
async function keepPolling(api: Api, ticketId: string, who: Principal, untilMs: number) {
  const answers: { status: number; ticket: string | undefined }[] = [];
  while (Date.now() < untilMs) {
    const { status, body } = await call(api, 'GET', `/tickets/${ticketId}`, undefined, who);
    answers.push({ status, ticket: body.status });
    await sleep(500);
  }
  return answers;
}

/**
 * A holder polls their place in a line not yet open; PostgreSQL goes away for `outageMs` just as
 * half its lease has gone (the poll asking for its renewal is answered from memory), and the holder
 * keeps polling. Answers what the page was told, and how the place ended once the line opened.
 */
async function placeThroughOutage(outageMs: number) {
  const api = testApp(stack.db, stack.client, stack.worker.taskQueue, undefined, { line: LINE });
  apps.push(api);
  const product = await newProduct(stack.db, 1);
  // Nothing moves before the opening: the place waits, kept alive only by its holder's polls.
  expect((await call(api, 'PATCH', `/products/${product.id}/sale`, { opensAt: inSeconds(120) })).body.state).toBe('SCHEDULED');
  const who = customer();
  const joined = await call(api, 'POST', `/products/${product.id}/tickets`, { customer: { district: '강남구' } }, who);
  expect(joined.status).toBe(202);
  const ticketId = joined.body.id as string;
  const firstLease = new Date(joined.body.leaseExpiresAt).getTime();

  // Polls in the lease's first half renew nothing. Once half of it has gone the next poll asks for
  // a renewal: PostgreSQL goes away just before it.
  const halfGone = firstLease - LEASE_MS / 2;
  await keepPolling(api, ticketId, who, halfGone - 700);
  await sleep(halfGone + 300 - Date.now());
  await databaseAway();
  const asked = await call(api, 'GET', `/tickets/${ticketId}`, undefined, who);
  // Answered from memory (the board was read a moment ago); the renewal it asked for cannot be written.
  expect(asked).toMatchObject({ status: 200, body: { status: 'WAITING' } });
  const during = await keepPolling(api, ticketId, who, Date.now() + outageMs);
  await databaseBack();
  // The holder keeps polling past the lease the ticket had before that renewal.
  const after = await keepPolling(api, ticketId, who, Math.max(firstLease, Date.now()) + 2_000);
  const row = await stack.db.selectFrom('queue_tickets').select(['state', 'alive_until']).where('id', '=', ticketId).executeTakeFirstOrThrow();

  // The opening: its turn comes.
  await call(api, 'PATCH', `/products/${product.id}/sale`, { opensAt: inSeconds(1) });
  const ended = await eventually(
    async () => (await call(api, 'GET', `/tickets/${ticketId}`, undefined, who)).body,
    (t) => t.pollAfterSeconds === null,
    30_000,
  );
  return { during, after, row, ended };
}

it('a place whose holder keeps polling outlives PostgreSQL going away just as its lease is renewed', { timeout: 90_000 }, async () => {
  const { during, after, row, ended } = await placeThroughOutage(1_500);
  // Some polls of the outage were answered (from memory), the others failed (5xx): none told anything but WAITING.
  expect(during.filter((a) => a.status !== 200 && a.status < 500)).toEqual([]);
  expect(after.map((a) => a.status === 200 && a.ticket)).not.toContain('LAPSED');
  expect(after.every((a) => a.status === 200 && a.ticket === 'WAITING')).toBe(true);
  expect(row.state).toBe('WAITING');
  expect(row.alive_until.getTime()).toBeGreaterThan(Date.now());
  // Let in at its turn, not passed over as lapsed.
  expect(ended.status).toBe('RESERVED');
});

it('and PostgreSQL away past the rest of its lease: the renewal asked before counts from its ask once written', { timeout: 90_000 }, async () => {
  // Back 1.3 s after the lease it had before the renewal ran out (the renewal was asked 3.7 s before that).
  const { during, after, row, ended } = await placeThroughOutage(5_000);
  expect(during.filter((a) => a.status !== 200 && a.status < 500)).toEqual([]);
  expect([...during, ...after].filter((a) => a.status === 200 && a.ticket !== 'WAITING')).toEqual([]);
  expect(row.state).toBe('WAITING');
  expect(row.alive_until.getTime()).toBeGreaterThan(Date.now());
  expect(ended.status).toBe('RESERVED');
});

it('a place followed by an open event stream alone (the page polls only while it has none) stays alive lease after lease', { timeout: 120_000 }, async () => {
  // The stream renews at its keep-alives (every 15 s) once half the lease has gone: a 20 s lease is
  // renewed at the first, and again at the second only if the stream knows the lease the first wrote.
  const api = testApp(stack.db, stack.client, stack.worker.taskQueue, undefined, { line: { ...LINE, leaseMs: 20_000, boardEveryMs: 100 } });
  apps.push(api);
  const server = await listen(api.app.fetch, '127.0.0.1', 0, 'ticket leases test');
  const controller = new AbortController();
  try {
    const product = await newProduct(stack.db, 1);
    await call(api, 'PATCH', `/products/${product.id}/sale`, { opensAt: inSeconds(120) });
    const who = customer();
    const joined = await call(api, 'POST', `/products/${product.id}/tickets`, { customer: { district: '강남구' } }, who);
    expect(joined.status).toBe(202);
    const ticketId = joined.body.id as string;
    const res = await fetch(`${server.url}/events`, { headers: { authorization: `Bearer ${await tokenFor(who)}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    const { events } = readEventStream(res);
    const told = () => events.filter((e) => e.event === 'ticket' && e.data.id === ticketId).map((e) => e.data.status as string);

    // Past the lease the first renewal wrote (it would end at about 35 s): the stream's keep-alives alone kept it.
    await sleep(new Date(joined.body.leaseExpiresAt).getTime() + 18_000 - Date.now());
    const row = await stack.db.selectFrom('queue_tickets').select(['state', 'alive_until']).where('id', '=', ticketId).executeTakeFirstOrThrow();
    expect(row.state).toBe('WAITING');
    expect(row.alive_until.getTime()).toBeGreaterThan(Date.now());

    await call(api, 'PATCH', `/products/${product.id}/sale`, { opensAt: inSeconds(1) });
    await eventually(async () => told(), (s) => s.some((status) => status !== 'WAITING' && status !== 'ADMITTED'), 30_000);
    expect(told().filter((status) => status !== 'WAITING' && status !== 'ADMITTED')).toEqual(['RESERVED']);
  } finally {
    controller.abort();
    await server.close();
  }
});
