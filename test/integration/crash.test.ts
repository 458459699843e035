/** A worker killed with SIGKILL mid-flight, and restarted: nothing lost, nothing done twice. */
import { randomUUID } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reservationWorkflowId } from '../../app/reservation/contract.js';
import type { Database } from '../../db/schema.js';
import {
  connectClient,
  eventually,
  newProduct,
  newStore,
  launchWorkerProcess,
  violationsOf,
  openTestDb,
  startAssignmentService,
  stockOf,
  testApp,
  untilDecided,
  type TestAssignmentService,
  assignmentTables,
} from '../helpers.js';
import type { Launched } from '../../dev/stack.js';

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let assignment: TestAssignmentService;
const taskQueue = `crash-${randomUUID()}`;
const workers: Launched[] = [];

beforeAll(async () => {
  db = await openTestDb();
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
});
afterAll(async () => {
  for (const w of workers) w.kill();
  await assignment?.stop();
  await connection?.close();
  await db?.destroy();
});

async function startWorkerProcess(): Promise<Launched> {
  const w = await launchWorkerProcess(taskQueue, assignment.url);
  workers.push(w);
  return w;
}

async function sigkill(w: Launched) {
  w.kill();
  await w.exit;
}

it('every reservation reaches its right state across worker SIGKILLs, and the invariants hold', { timeout: 180_000 }, async () => {
  const product = await newProduct(db, 12);
  const store = await newStore(db, 20);
  const app = testApp(db, client, taskQueue);
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { id: string; reservationId?: string; status: string; code?: string } };
  };

  const statusCount = async (status: 'ACCEPTED' | 'CANCELLED') =>
    Number((await db.selectFrom('reservations').select(db.fn.countAll().as('n')).where('product_id', '=', product.id).where('status', '=', status).executeTakeFirstOrThrow()).n);

  let worker = await startWorkerProcess();
  // The store calls fail until the worker has been killed, so accepted reservations are still
  // waiting for their store when it dies: the kill provably lands on work in flight.
  assignment.setFailing(true);
  const answers = Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      untilDecided(() => send('POST', '/reservations', { productId: product.id, customer: { id: `c-crash-${i}`, latitude: store.latitude, longitude: store.longitude } }), (p) => send('GET', p)),
    ),
  );
  const waitingForStore = await eventually(() => statusCount('ACCEPTED'), (n) => n >= 3);
  await sigkill(worker);
  expect(waitingForStore).toBeGreaterThanOrEqual(3);
  worker = await startWorkerProcess();
  assignment.setFailing(false);
  const results = await answers;
  expect(results.map((r) => r.status).sort()).toEqual([...Array(12).fill(201), ...Array(8).fill(409)]);

  const accepted = results.filter((r) => r.status === 201).map((r) => r.body.id);
  const toCancel = accepted.slice(0, 5);
  for (const id of accepted) await eventually(async () => (await send('GET', `/reservations/${id}`)).body.status, (s) => s === 'CONFIRMED', 60_000);
  // The slot releases fail until the worker has been killed: it dies with compensations unfinished.
  assignment.setFailing(true);
  for (const id of toCancel) expect((await send('POST', `/reservations/${id}/cancel`)).status).toBe(202);
  await eventually(() => statusCount('CANCELLED'), (n) => n === toCancel.length);
  const slotsHeld = await assignmentTables(db).selectFrom('assignment.assignments').select('reservation_id').where('reservation_id', 'in', toCancel).where('status', '=', 'ACTIVE').execute();
  await sigkill(worker);
  expect(slotsHeld).toHaveLength(toCancel.length);
  worker = await startWorkerProcess();
  assignment.setFailing(false);

  const final = async (id: string) => (await send('GET', `/reservations/${id}`)).body.status;
  for (const id of accepted) {
    const wanted = toCancel.includes(id) ? 'CANCELLED' : 'CONFIRMED';
    expect(await eventually(() => final(id), (s) => s === wanted, 60_000)).toBe(wanted);
  }
  for (const r of results.filter((x) => x.status === 409)) {
    // Refused at once (a REJECTED reservation), or a place in line told SOLD_OUT (no reservation at all).
    if (r.body.reservationId) expect(await final(r.body.reservationId)).toBe('REJECTED');
    else expect(r.body.code).toBe('OUT_OF_STOCK');
  }
  // CANCELLED as soon as the stock is back; the store slot is released beside it, before the workflow ends.
  for (const id of toCancel) await client.workflow.getHandle(reservationWorkflowId(id)).result();

  expect(await stockOf(db, product.id)).toBe(5);
  // One assignment row per accepted reservation: ACTIVE for the confirmed, RELEASED for the cancelled.
  const assignments = await assignmentTables(db).selectFrom('assignment.assignments').select(['reservation_id', 'status', 'store_id']).where('reservation_id', 'in', accepted).execute();
  expect(assignments).toHaveLength(12);
  expect(assignments.filter((a) => a.status === 'ACTIVE').every((a) => a.store_id === store.id && !toCancel.includes(a.reservation_id))).toBe(true);
  expect(assignments.filter((a) => a.status === 'ACTIVE')).toHaveLength(7);
  expect(await violationsOf(db, { productIds: [product.id], storeIds: [store.id], reservationIds: results.flatMap((r) => r.body.id ?? r.body.reservationId ?? []) })).toEqual([]);

  worker.child.kill('SIGTERM');
  expect((await worker.exit).code).toBe(0);
});
