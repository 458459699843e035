/**
 * A keyed cancel whose API process is SIGKILLed after the signal went out and before the key was
 * kept: the customer's repeat with the same key gets the first attempt's answer (202), not a 409
 * from the cancel it caused (issue #22's chaos run: 1 journey of 4,546).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { afterAll, expect, inject, it } from 'vitest';
import { createActivities } from '../../workers/activities.js';
import { createAssignmentBreaker } from '../../app/assignment/activities.js';
import { demoPhoneFor } from '../../db/data/demo.js';
import { dataConverterFor } from '../../platform/codec.js';
import { reservationWorkflowId } from '../../app/reservation/contract.js';
import { ADMIN, eventually, newProduct, newStore, notifierQueueOf, startWorkerWith, TEST_ASSIGNMENT_TOKEN, TEST_JWT_SECRET, tokenFor, useTestStack, type TestWorker } from '../helpers.js';
import { startPart, type Launched } from '../../dev/stack.js';

const stack = useTestStack({ worker: false });
// Sealed payloads, as in production: the repeat reads the signal it sent back through the codec.
const payloadKey = { id: 'k1', key: randomBytes(32) };
const PAYLOAD_KEYS = `${payloadKey.id}:${payloadKey.key.toString('base64')}`;
const taskQueue = `cancel-crash-${randomUUID()}`;
const apis: Launched[] = [];
let worker: TestWorker | undefined;

afterAll(async () => {
  for (const api of apis) api.kill();
  await worker?.stop();
});

/** A port free just now (the API refuses PORT=0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The API process (cmd/api.ts) on a free port, on this file's task queues, with the payload key. */
async function startApi() {
  const port = await freePort();
  const api = await startPart('api', {
    env: {
      ...process.env,
      API_METRICS_PORT: '0',
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      NOTIFIER_TASK_QUEUE: notifierQueueOf(taskQueue),
      PAYLOAD_KEYS,
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    readyTimeoutMs: 60_000,
  });
  apis.push(api);
  const base = `http://127.0.0.1:${port}`;
  const send = async (method: string, path: string, body?: unknown, key?: string) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await tokenFor(ADMIN)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { id?: string; status?: string; code?: string; reservationStatus?: string } };
  };
  return { api, send };
}

it('a keyed cancel whose API died between the signal and keeping the key is answered 202 on its repeat, as it would have been', { timeout: 180_000 }, async () => {
  const { db, connection } = stack;
  // The real activities; a stand-in on the notifier's queue (sending messages is not what this is about).
  const activities = createActivities({ db, assignmentUrl: stack.assignment.url, assignmentToken: TEST_ASSIGNMENT_TOKEN, breaker: createAssignmentBreaker({ failures: 5, halfOpenAfterMs: 1_000 }) });
  worker = await startWorkerWith(activities, taskQueue, dataConverterFor([payloadKey]));
  const product = await newProduct(db, 1);
  const store = await newStore(db, 2);
  const first = await startApi();
  const customer = { id: 'c-cancel-crash', phone: demoPhoneFor('c-cancel-crash'), latitude: store.latitude, longitude: store.longitude };
  const reserved = await first.send('POST', '/reservations', { productId: product.id, customer }, `reserve-${randomUUID()}`);
  expect(reserved.status).toBe(201);
  const id = reserved.body.id!;
  const statusOf = async () => (await db.selectFrom('reservations').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  await eventually(statusOf, (s) => s === 'CONFIRMED', 30_000);

  const key = `cancel-${randomUUID()}`;
  const reason = { reason: 'changed my mind' };
  const cancelSignals = async () =>
    ((await stack.client.workflow.getHandle(reservationWorkflowId(id)).fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'cancel').length;

  // The key's row, inserted and not committed: the API's claim of the same key, which comes after
  // the signal, waits on it. That wait is the window; the API is killed inside it.
  let rollBack!: () => void;
  let held!: (pid: number) => void;
  const holder = new Promise<number>((resolve) => (held = resolve));
  const holding = db
    .transaction()
    .execute(async (trx) => {
      await trx.insertInto('idempotency_keys').values({ scope: `cancel:${id}`, principal: ADMIN.sub, key, request_hash: 'held by the test', resource_id: id }).execute();
      held((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid);
      await new Promise<void>((resolve) => (rollBack = resolve));
      // The API's statement waiting on the row belonged to a dead process: it ends unanswered, as
      // PostgreSQL ends it once it sees the connection gone.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))`.execute(trx);
      throw new Error('rolled back');
    })
    .catch((err: Error) => expect(err.message).toBe('rolled back'));
  const holderPid = await holder;

  const answer = first.send('POST', `/reservations/${id}/cancel`, reason, key).then(
    (r) => ({ answered: r }),
    () => ({ answered: undefined }),
  );
  // The signal is in the history and the claim waits: the API is past one and not yet at the end of the other.
  await eventually(cancelSignals, (n) => n === 1, 30_000);
  const waiting = async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where ${holderPid} = any(pg_blocking_pids(pid))`.execute(db)).rows[0]!.n;
  // Within the API's lock_timeout (5 s), after which its claim would fail instead.
  await eventually(waiting, (n) => n === 1, 4_000);
  first.api.kill();
  await first.api.exit;
  rollBack();
  await holding;
  expect((await answer).answered).toBeUndefined();

  // The cancel went through: the reservation ends CANCELLED and its workflow closes.
  await eventually(statusOf, (s) => s === 'CANCELLED', 30_000);
  const sealed = new Client({ connection, dataConverter: dataConverterFor([payloadKey])! });
  expect((await sealed.workflow.getHandle(reservationWorkflowId(id)).result()).status).toBe('CANCELLED');
  expect(await db.selectFrom('idempotency_keys').select('key').where('key', '=', key).execute()).toEqual([]);

  // The customer repeats, to another API process: the answer the first would have had.
  const second = await startApi();
  const repeat = await second.send('POST', `/reservations/${id}/cancel`, reason, key);
  expect(repeat.status, JSON.stringify(repeat.body)).toBe(202);
  expect(repeat.body.status).toBe('CANCELLED');
  // Kept now: the next repeat is a replay; the same key with another body is refused.
  expect((await second.send('POST', `/reservations/${id}/cancel`, reason, key)).status).toBe(202);
  expect((await second.send('POST', `/reservations/${id}/cancel`, { reason: 'another' }, key)).body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  // Another request finds the reservation ended: no cancel of its own went out.
  const other = await second.send('POST', `/reservations/${id}/cancel`, reason, `cancel-${randomUUID()}`);
  expect([other.status, other.body.code]).toEqual([409, 'NOT_CANCELLABLE']);
  expect((await second.send('POST', `/reservations/${id}/cancel`, reason)).body.code).toBe('NOT_CANCELLABLE');
  // The repeats sent nothing: one cancel signal in all.
  expect(await cancelSignals()).toBe(1);

  second.api.child.kill('SIGTERM');
  expect((await second.api.exit).code).toBe(0);
});
