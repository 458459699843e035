/**
 * The production topology without Docker: one PostgreSQL, one Temporal server, the API, the
 * assignment service and two workers, each its own process. The workers share the load, one dies
 * under SIGKILL and nothing is lost; SIGTERM drains a worker's activity and the API's request.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { checkInvariants } from '../../db/invariants.js';
import type { Database } from '../../db/schema.js';
import { waitUntil } from '../../platform/process.js';
import { openDatabase } from '../../db/open.js';
import { signToken } from '../../platform/auth.js';
import { reservationWorkflowId } from '../../app/reservation/contract.js';
import { localActivityMarker, killQuietly } from '../helpers.js';
import { serverPids, launchScript, type Launched } from '../../dev/stack.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-topology-'));
const launched: Launched[] = [];
let db: Kysely<Database> | undefined;
let connection: Connection | undefined;
afterAll(async () => {
  for (const l of launched) l.kill();
  await connection?.close();
  await db?.destroy();
  for (const pid of serverPids(dataDir)) killQuietly(pid);
  rmSync(dataDir, { recursive: true, force: true });
});
const run = (script: string, env: Record<string, string>) => {
  const l = launchScript(script, { LOG_LEVEL: 'warn', API_METRICS_PORT: '0', ...env });
  launched.push(l);
  return l;
};

const API = 'http://127.0.0.1:18378';

interface Answer {
  key: string;
  status: number;
  id?: string;
}

it('two workers share the load, one is SIGKILLed without losing a reservation, and SIGTERM drains', { timeout: 240_000 }, async () => {
  const infra = run('start:infra', { DATA_DIR: dataDir, PG_PORT: '25482', TEMPORAL_PORT: '17283', TEMPORAL_UI_PORT: '18283' });
  await infra.waitForOutput('Press Ctrl-C to stop.');
  const DATABASE_URL = /export DATABASE_URL='([^']+)'/.exec(infra.stdout())![1]!;
  const TEMPORAL_ADDRESS = /export TEMPORAL_ADDRESS='([^']+)'/.exec(infra.stdout())![1]!;
  db = await openDatabase(DATABASE_URL);
  connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  const client = new Client({ connection });

  const assignment = run('start:assignment', { DATABASE_URL, DATA_DIR: dataDir, ASSIGNMENT_PORT: '18379' });
  const services = { DATABASE_URL, TEMPORAL_ADDRESS, DATA_DIR: dataDir, ASSIGNMENT_URL: 'http://127.0.0.1:18379' };
  const worker = (name: string, metricsPort: string) => run('start:worker', { ...services, WORKER_IDENTITY: name, WORKER_METRICS_PORT: metricsPort });
  const workerA = worker('worker-a', '19371');
  const workerB = worker('worker-b', '19372');
  const api = run('start:api', { ...services, PORT: '18378' });
  await Promise.all([assignment, workerA, workerB].map((p, i) => p.waitForOutput(i === 0 ? 'assignment service listening' : 'worker polling')));
  await api.waitForOutput('API listening');

  const secret = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
  const admin = { 'content-type': 'application/json', authorization: `Bearer ${await signToken(secret, { role: 'admin', sub: 'topology-test' })}` };
  const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${API}${p}`, { method: 'POST', headers: { ...admin, ...headers }, body: JSON.stringify(body) });
  const newProduct = async (sku: string, stock: number) =>
    ((await (await post('/products', { sku, name: sku, brand: 'Test', priceKrw: 1, stock })).json()) as { id: number }).id;
  const statusOf = async (id: string) =>
    ((await (await fetch(`${API}/reservations/${id}`, { headers: admin })).json()) as { status: string }).status;

  // A careful client: one Idempotency-Key per reservation, retried through a 503 or a dropped connection.
  const reserve = async (productId: number, key: string): Promise<Answer> => {
    for (let attempt = 0; ; attempt++) {
      const res = await post('/reservations', { productId, customer: { id: `c-${key}`, district: '중구' } }, { 'idempotency-key': key }).catch(() => undefined);
      if (res && res.status !== 503) {
        const body = (await res.json()) as { id?: string; reservationId?: string };
        return { key, status: res.status, id: body.id ?? body.reservationId };
      }
      if (attempt >= 20) throw new Error(`reservation ${key} never answered`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  // 1. Both workers take part in the work. The server hands each task to one of the workers polling,
  // so which ones took work is a matter of chance: more reservations go out until both have been
  // seen at work (a worker that takes none never is).
  const product = await newProduct('topology-phone', 40);
  const first = await Promise.all(Array.from({ length: 16 }, (_, i) => reserve(product, `topology-first-${i}`)));
  expect(first.map((a) => a.status)).toEqual(Array(16).fill(201));
  for (const a of first) expect(await waitUntil(async () => (await statusOf(a.id!)) === 'CONFIRMED', 30_000, 200)).toBe(true);
  const identities = new Set<string>();
  const seeWorkersOf = async (answers: Answer[]) => {
    for (const a of answers) {
      const { events } = await client.workflow.getHandle(reservationWorkflowId(a.id!)).fetchHistory();
      for (const e of events ?? []) {
        const who = e.activityTaskStartedEventAttributes?.identity ?? e.workflowTaskStartedEventAttributes?.identity;
        if (who) identities.add(who);
      }
    }
  };
  await seeWorkersOf(first);
  const spare = await newProduct('topology-spare', 80);
  for (let round = 0; identities.size < 2 && round < 10; round++) {
    const more = await Promise.all(Array.from({ length: 8 }, (_, i) => reserve(spare, `topology-spare-${round}-${i}`)));
    expect(more.map((a) => a.status)).toEqual(Array(8).fill(201));
    await seeWorkersOf(more);
  }
  expect([...identities].sort()).toEqual(['worker-a', 'worker-b']);

  // 2. Worker A is SIGKILLed while reservations and cancellations flow; nothing is lost.
  const second: Promise<Answer>[] = [];
  for (let i = 0; i < 24; i++) {
    second.push(reserve(product, `topology-second-${i}`));
    if (i === 6) workerA.kill(); // SIGKILL to the worker and its npm parent
    if (i < 6) expect((await post(`/reservations/${first[i]!.id}/cancel`, {})).status).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
  }
  const answers = await Promise.all(second);
  expect((await workerA.exit).signal).toBe('SIGKILL');
  // 40 units: 16 taken first, 24 now, 6 given back by the cancellations.
  expect(answers.map((a) => a.status)).toEqual(Array(24).fill(201));
  for (const a of answers) expect(await waitUntil(async () => (await statusOf(a.id!)) === 'CONFIRMED', 60_000, 250), `${a.key} confirmed`).toBe(true);
  for (const a of first.slice(0, 6)) expect(await waitUntil(async () => (await statusOf(a.id!)) === 'CANCELLED', 60_000, 250)).toBe(true);
  const rows = await db.selectFrom('reservations').select(['id', 'status']).where('product_id', '=', product).execute();
  expect(rows).toHaveLength(40); // every request is one reservation: none lost, none doubled
  expect((await db.selectFrom('products').select('stock').where('id', '=', product).executeTakeFirstOrThrow()).stock).toBe(6);
  expect(await checkInvariants(db)).toEqual({ ok: true, violations: [] });

  // 3. SIGTERM drains: the worker finishes the activity it is running, the API the request it serves.
  const replacement = worker('worker-c', '19373');
  await replacement.waitForOutput('worker polling');
  const slow = await newProduct('topology-slow', 5);
  /**
   * Locks the stock ledger against writes, so the stock decision (not the API's admission, which
   * never writes it) waits inside its local activity until released.
   */
  const holdStockRow = async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const done = db!.transaction().execute(async (trx) => {
      await sql`lock table stock_ledger in exclusive mode`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    const waiting = () =>
      waitUntil(async () => {
        const { rows: w } = await sql<{ n: string }>`
          select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%insert into%stock_ledger%'`.execute(db!);
        return Number(w[0]!.n) > 0;
      }, 20_000, 100);
    return { waiting, release: async () => (release(), await done) };
  };

  // The worker: SIGTERM while its activity waits on the lock; it finishes it, then exits 0.
  const lock = await holdStockRow();
  const pending = reserve(slow, 'drain-worker');
  expect(await lock.waiting()).toBe(true);
  for (const w of [workerB, replacement]) w.child.kill('SIGTERM');
  // The lock is released only once both workers are stopping (through npm, the signal can take a while).
  await Promise.all([workerB, replacement].map((w) => w.waitForOutput('SIGTERM received', 20_000)));
  await lock.release();
  const [exitB, exitC] = await Promise.all([workerB.exit, replacement.exit]);
  expect([exitB.code, exitC.code]).toEqual([0, 0]);
  // The (local) activity attempt that was running when SIGTERM came completed and its workflow task
  // was reported by that worker; no retry was needed, and the waiting customer gets the decision.
  const restarted = worker('worker-d', '19374');
  await restarted.waitForOutput('worker polling');
  const answer = await pending;
  expect(answer.status).toBe(201);
  const { events } = await client.workflow.getHandle(reservationWorkflowId(answer.id!)).fetchHistory();
  const decisions = (events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
  const decision = decisions.map((e) => localActivityMarker(e.markerRecordedEventAttributes!)).filter((m) => m.activity_type === 'reserveStock');
  expect(decision).toEqual([expect.objectContaining({ attempt: 1 })]);
  const reportedIn = String(decisions[0]!.markerRecordedEventAttributes!.workflowTaskCompletedEventId);
  const reportedBy = (events ?? []).find((e) => String(e.eventId) === reportedIn);
  expect(['worker-b', 'worker-c']).toContain(reportedBy?.workflowTaskCompletedEventAttributes?.identity);

  // The API: SIGTERM while a reservation waits for its decision; new connections are refused, the
  // waiting request is answered, then the process exits 0.
  const lock2 = await holdStockRow();
  const inFlight = post('/reservations', { productId: slow, customer: { id: 'c-drain-api' } });
  expect(await lock2.waiting()).toBe(true);
  api.child.kill('SIGTERM');
  // (Under a loaded CI machine the signal can take a moment to reach the process through npm.)
  await api.waitForOutput('SIGTERM received', 20_000);
  const refused = await waitUntil(() => fetch(`${API}/healthz`).then(() => false, () => true), 3_000, 50);
  expect(refused, `still accepting after SIGTERM:\n${api.stdout()}\n${api.stderr()}`).toBe(true);
  await lock2.release();
  expect((await inFlight).status).toBe(201);
  expect((await api.exit).code).toBe(0);

  restarted.child.kill('SIGTERM');
  assignment.child.kill('SIGTERM');
  expect([(await restarted.exit).code, (await assignment.exit).code]).toEqual([0, 0]);
  await connection.close();
  connection = undefined;
  await db.destroy();
  db = undefined;
  infra.child.kill('SIGTERM');
  expect((await infra.exit).code).toBe(0);
});
