/** Shared test fixtures: the real database, a real worker on its own task queue, a Temporal client. */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import { createActivities, type Activities } from '../workers/activities.js';
import { createAssignmentBreaker, type AssignmentBreaker } from '../app/assignment/activities.js';
import { createApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { createAssignmentApp } from '../app/assignment/api.js';
import { createAssignmentClient } from '../app/assignment/client.js';
import type { AssignmentDatabase } from '../app/assignment/schema.js';
import { signToken, type Principal } from '../platform/auth.js';
import { normalizePhone } from '../platform/phone.js';
import { demoPhoneFor } from '../db/data/demo.js';
import type { ReservationPolicy } from '../app/reservation/contract.js';
import { createProduct } from '../app/product/repository.js';
import { checkInvariants } from '../db/invariants.js';
import { listStockMoves } from '../app/product/stock.js';
import type { Database } from '../db/schema.js';
import { createLogger } from '../platform/log.js';
import { listen } from '../platform/http.js';
import { isAlive, waitUntil } from '../platform/process.js';
import { openDatabase } from '../db/open.js';
import { prepareDatabase } from '../db/prepare.js';
import { startPart, type Launched } from '../dev/stack.js';
import { createReservationWorker } from '../workers/worker.js';
import { ensureNotifyDrainSchedule } from '../workers/schedules.js';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
}

export const openTestDb = () => openDatabase(inject('databaseUrl'));

/**
 * A database of its own on the test server, migrated (and seeded if asked), for a test that must
 * not see the other files' rows or must not touch them (a fuzzer, an outbox relay).
 */
export async function isolatedDatabase(options: { seed: boolean }) {
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = (text: string) => sql.raw(text).execute(adminDb);
  const adminDb = await openTestDb();
  await admin(`create database ${name}`);
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  const db = await openDatabase(url.toString());
  await prepareDatabase(db, options);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.destroy();
      await admin(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await adminDb.destroy();
    },
  };
}

/** What workers present to the tests' assignment services. */
export const TEST_ASSIGNMENT_TOKEN = 'test-only-assignment-token-4f1c2a9e7b3d5c8e';
/**
 * The environment of a worker process the tests start against their own assignment service: its
 * token, and no notification drain Schedule (the suite's `startTestWorker` runs one, or none).
 */
export const TEST_WORKER_ENV = { ASSIGNMENT_TOKEN: TEST_ASSIGNMENT_TOKEN, NOTIFY_DRAIN_EVERY: '0' } as const;

/** Each suite's notifier polls a queue of its own, next to its worker's. */
export const notifierQueueOf = (taskQueue: string) => `${taskQueue}-notify`;

/** The real Python notifier (notifier/) on `taskQueue`, quiet unless it fails; stop it after. */
export async function launchNotifier(taskQueue: string, options: { databaseUrl?: string; env?: Record<string, string> } = {}) {
  const lines: string[] = [];
  try {
    const p = await startPart('notifier', {
      env: { ...process.env, DATABASE_URL: options.databaseUrl ?? inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default', NOTIFIER_TASK_QUEUE: taskQueue, ...options.env },
      // NOTIFIER_TEST_LOG=1 shows its log lines as they come.
      echo: (line) => (process.env.NOTIFIER_TEST_LOG ? console.error(`[notifier] ${line}`) : void (lines.push(line) > 200 && lines.shift())),
      readyTimeoutMs: 60_000,
    });
    return { pid: p.pid, ...p.notifier!, stop: () => p.stop('SIGTERM', 8_000) };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${lines.slice(-20).join('\n')}`);
  }
}

/**
 * Keeps the notification drain running for `taskQueue`'s notifier, as a deployment's worker does
 * (its Schedule, every minute, each run the whole minute). The drain takes every pending row of
 * the database, other suites' too: on the shared database every suite's notifier records to the
 * local sink, so whichever sends a message, it ends the same.
 */
export async function startDrain(client: Client, taskQueue: string) {
  const { scheduleId } = await ensureNotifyDrainSchedule(client, taskQueue, notifierQueueOf(taskQueue), 60_000);
  const schedule = client.schedule.getHandle(scheduleId);
  return {
    async stop() {
      const { info } = await schedule.describe();
      await schedule.delete();
      for (const { action } of info.recentActions) await client.workflow.getHandle(action.workflow.workflowId).terminate('test over').catch(() => undefined);
    },
  };
}

export async function connectClient() {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return { connection, client: new Client({ connection }) };
}

/** A product of its own for one test, so tests never share stock. */
export async function newProduct(db: Kysely<Database>, stock: number) {
  const sku = `test-${randomUUID()}`;
  const product = await createProduct(db, { sku, name: `Test phone ${sku.slice(5, 13)}`, brand: 'Test', priceKrw: 1_000_000, stock });
  return product!;
}

export async function stockOf(db: Kysely<Database>, productId: number): Promise<number> {
  const row = await db.selectFrom('products').select('stock').where('id', '=', productId).executeTakeFirstOrThrow();
  return row.stock;
}

export const movesOf = (db: Kysely<Database>, reservationId: string) => listStockMoves(db, { reservationId });

export interface TestWorker {
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

/**
 * Runs a real worker on a fresh task queue, with the real Python notifier on the queue beside it
 * (`notifierQueueOf`); `wrap` can replace activities to inject faults.
 */
export async function startTestWorker(
  db: Kysely<Database>,
  options: {
    assignmentUrl: string;
    breaker?: AssignmentBreaker;
    taskQueue?: string;
    dataConverter?: DataConverter;
    /** The database `db` is (for the notifier); the shared test database unless told. */
    databaseUrl?: string;
    /** The notifier's extra environment (PAYLOAD_KEYS, KAKAO_*), or false for none at all (nor a drain). */
    notifier?: false | Record<string, string>;
  },
  wrap: (real: Activities) => Partial<Activities> = () => ({}),
): Promise<TestWorker> {
  const real = createActivities({
    db,
    assignmentUrl: options.assignmentUrl,
    assignmentToken: TEST_ASSIGNMENT_TOKEN,
    breaker: options.breaker ?? createAssignmentBreaker({ failures: 5, halfOpenAfterMs: 1_000 }),
  });
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const notifier =
    options.notifier === false ? undefined : await launchNotifier(notifierQueueOf(taskQueue), { databaseUrl: options.databaseUrl, env: options.notifier });
  const worker = await startWorkerWith({ ...real, ...wrap(real) }, taskQueue, options.dataConverter);
  const temporal = notifier ? await connectClient() : undefined;
  const drain = temporal ? await startDrain(temporal.client, taskQueue) : undefined;
  return {
    ...worker,
    async stop() {
      await drain?.stop();
      await temporal?.connection.close();
      await worker.stop();
      await notifier?.stop();
    },
  };
}

/** Runs a real worker whose activities are exactly `activities` (mocks for workflow tests). */
export async function startWorkerWith(activities: Activities, taskQueue = `test-${randomUUID()}`, dataConverter?: DataConverter): Promise<TestWorker> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createReservationWorker({
    connection,
    namespace: 'default',
    taskQueue,
    activities,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    ...(dataConverter ? { dataConverter } : {}),
  });
  const running = worker.run();
  return {
    taskQueue,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export const DEFAULT_TEST_POLICY: ReservationPolicy = { assignmentDeadlineMs: 60_000, holdPeriodMs: 3_600_000, reminderBeforeMs: 600_000 };

export const TEST_JWT_SECRET = 'test-only-secret-test-only-secret-0123456789';
export const ADMIN: Principal = { role: 'admin', sub: 'admin-test' };
const tokens = new Map<string, Promise<string>>();

/**
 * A bearer token for a principal (signed with the test secret). A customer's carries a verified
 * number, as an identity provider's would (the demo one for its subject) unless it names one.
 */
export function tokenFor(p: Principal): Promise<string> {
  const id = JSON.stringify(p);
  const principal = p.role === 'customer' && !('phone' in p) ? { ...p, phone: normalizePhone(demoPhoneFor(p.sub))! } : p;
  if (!tokens.has(id)) tokens.set(id, signToken(TEST_JWT_SECRET, principal));
  return tokens.get(id)!;
}

/**
 * The real API app wired to the real database and Temporal, on the given task queue. `request`
 * sends as `as` (an admin unless told otherwise; `null` sends no token).
 */
export function testApp(
  db: Kysely<Database>,
  client: Client,
  taskQueue: string,
  policy: ReservationPolicy = DEFAULT_TEST_POLICY,
  extra: Pick<AppDeps, 'decisionDeadlineMs' | 'admission' | 'identityProvider' | 'web' | 'workerMetricsUrls' | 'line' | 'rateLimits' | 'requireVerifiedPhone'> & Partial<Pick<AppDeps, 'assignment'>> = {},
) {
  // No sold-out memory unless a test asks for it: a unit given back is reservable at once.
  const admission = { leaseMs: 10_000, soldOutMemoryMs: 0, maxInFlight: 32 };
  const app = createApp({
    db,
    temporal: client,
    taskQueue,
    notifierTaskQueue: notifierQueueOf(taskQueue),
    policy,
    admission,
    authSecret: TEST_JWT_SECRET,
    log: createLogger('api-test', 'warn'),
    assignment: inProcessAssignment(db),
    ...extra,
  });
  return {
    app,
    async request(path: string, init: RequestInit = {}, as: Principal | null = ADMIN): Promise<Response> {
      const headers = new Headers(init.headers);
      if (as && !headers.has('authorization')) headers.set('authorization', `Bearer ${await tokenFor(as)}`);
      return app.request(path, { ...init, headers });
    },
  };
}

/**
 * The real assignment service on a random port, which a test can stop, start again (same port)
 * or make answer 503 to every call.
 */
export async function startAssignmentService(db: Kysely<Database>) {
  const app = createAssignmentApp({ db: assignmentTables(db), log: createLogger('assignment-test', 'error'), token: TEST_ASSIGNMENT_TOKEN });
  let calls = 0;
  let failing = false;
  const fetch = async (req: Request) => {
    calls++;
    return failing ? new Response('down for the test', { status: 503 }) : app.fetch(req);
  };
  let server = await listen(fetch, '127.0.0.1', 0, 'test assignment service');
  const port = new URL(server.url).port;
  let running = true;
  return {
    url: server.url,
    calls: () => calls,
    setFailing: (f: boolean) => void (failing = f),
    async stop() {
      if (running) await server.close();
      running = false;
    },
    async start() {
      if (!running) server = await listen(fetch, '127.0.0.1', Number(port), 'test assignment service');
      running = true;
    },
  };
}
export type TestAssignmentService = Awaited<ReturnType<typeof startAssignmentService>>;

/**
 * The invariant violations about one test's own products, stores and reservations. Other test
 * files run beside it on the same database, mid-way through faults of their own; each violation
 * names what it is about (`product 7: …`, `store test-…`, a reservation id).
 */
export async function violationsOf(db: Kysely<Database>, own: { productIds?: number[]; storeIds?: string[]; reservationIds?: string[] }): Promise<string[]> {
  const names = [...(own.productIds ?? []).map((id) => `product ${id}:`), ...(own.storeIds ?? []), ...(own.reservationIds ?? [])];
  return (await checkInvariants(db)).violations.filter((v) => names.some((name) => v.includes(name)));
}

/**
 * A worker process (cmd/worker.ts, as the stack runs it) on `taskQueue`, against the test servers
 * and the test's assignment service; resolves once it polls (one that does not start is stopped).
 */
export async function launchWorkerProcess(taskQueue: string, assignmentUrl: string, env: Record<string, string> = {}): Promise<Launched> {
  return startPart('worker', {
    env: {
      ...process.env,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      NOTIFIER_TASK_QUEUE: notifierQueueOf(taskQueue),
      ASSIGNMENT_URL: assignmentUrl,
      ...TEST_WORKER_ENV,
      LOG_LEVEL: 'error',
      ...env,
    },
  });
}

/**
 * The real servers for one test file: the database (with `ownDatabase`, one of its own, seeded), a
 * Temporal client, the assignment service and (unless `worker: false`) a real worker on a queue of
 * its own, started before the file's tests and stopped after them. Read the parts from the
 * returned object inside tests and hooks.
 */
export function useTestStack(options: { worker?: boolean; ownDatabase?: boolean; notifier?: false | Record<string, string> } = {}) {
  const stack = {} as { db: Kysely<Database>; databaseUrl: string; connection: Connection; client: Client; assignment: TestAssignmentService; worker: TestWorker };
  let own: Awaited<ReturnType<typeof isolatedDatabase>> | undefined;
  beforeAll(async () => {
    if (options.ownDatabase) own = await isolatedDatabase({ seed: true });
    stack.db = own?.db ?? (await openTestDb());
    stack.databaseUrl = own?.url ?? inject('databaseUrl');
    ({ connection: stack.connection, client: stack.client } = await connectClient());
    stack.assignment = await startAssignmentService(stack.db);
    if (options.worker !== false) {
      stack.worker = await startTestWorker(stack.db, { assignmentUrl: stack.assignment.url, databaseUrl: own?.url, ...(options.notifier !== undefined ? { notifier: options.notifier } : {}) });
    }
  });
  afterAll(async () => {
    await stack.worker?.stop();
    await stack.assignment?.stop();
    await stack.connection?.close();
    await (own ? own.drop() : stack.db?.destroy());
  });
  return stack;
}

/**
 * The assignment service's tables on a test's connection: the tests connect as the embedded
 * superuser, who may read both schemas (the services never do: test/integration/roles.test.ts).
 */
export function assignmentTables(db: Kysely<Database>): Kysely<AssignmentDatabase> {
  return db as unknown as Kysely<AssignmentDatabase>;
}

/** The assignment service's client for an API under test: the real service app, called in-process. */
export function inProcessAssignment(db: Kysely<Database>) {
  const app = createAssignmentApp({ db: assignmentTables(db), log: createLogger('assignment-test', 'error'), token: TEST_ASSIGNMENT_TOKEN });
  return createAssignmentClient({ url: 'http://assignment.test', token: TEST_ASSIGNMENT_TOKEN, fetch: (req) => app.fetch(req) });
}

/** A store of its own for one test, far from Seoul so only customers placed next to it get it. */
export async function newStore(db: Kysely<Database>, capacity: number) {
  const id = `test-${randomUUID().slice(0, 8)}`;
  // Anywhere on the globe away from Seoul: two random test stores land within a few km of each
  // other (and so compete under the load-aware rule) about once in ten thousand runs.
  const latitude = -60 + Math.random() * 120;
  const longitude = -180 + Math.random() * 300; // up to 120°E: never near Seoul's stores
  await assignmentTables(db)
    .insertInto('assignment.stores')
    .values({ id, name: `Test store ${id}`, district: 'test', address: 'test', latitude, longitude, capacity })
    .execute();
  return { id, latitude, longitude, capacity };
}

export async function activeAt(db: Kysely<Database>, storeId: string): Promise<number> {
  const row = await assignmentTables(db).selectFrom('assignment.stores').select('active_count').where('id', '=', storeId).executeTakeFirstOrThrow();
  return row.active_count;
}

/**
 * A customer's app: sends a reserve and, if it was given a place in line (202), follows the ticket
 * until it ends; answers as the reserve would have at once (201 with the reservation, or 409
 * OUT_OF_STOCK), or with the ticket if it ended otherwise.
 */
// `any`: the bodies are whatever the API answered
export async function untilDecided<T extends { status: number; body: any }>(reserve: () => Promise<T>, get: (path: string) => Promise<T>): Promise<T> {
  const first = await reserve();
  if (first.status !== 202) return first;
  for (;;) {
    const ticket = await get(`/tickets/${first.body.id as string}`);
    if (ticket.body.status === 'RESERVED') return { ...(await get(`/reservations/${ticket.body.reservationId as string}`)), status: 201 };
    if (ticket.body.status === 'SOLD_OUT') return { ...ticket, status: 409, body: { code: 'OUT_OF_STOCK', ticket: ticket.body } };
    if (ticket.body.pollAfterSeconds === null) return ticket;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads a server-sent event stream into `events` (each with its JSON data and when it came) until it ends or is aborted. */
export function readEventStream(res: Response) {
  const events: { event: string; data: any; at: number }[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1]).join('\n');
          if (event) events.push({ event, data: data ? JSON.parse(data) : null, at: Date.now() });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, done };
}

/** A workflow's whole history as text, payloads decoded: what an operator (or a leak) could read. */
export async function historyText(handle: { fetchHistory(): Promise<unknown> }): Promise<string> {
  return JSON.stringify(await handle.fetchHistory(), (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value));
}

export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

/** What a local activity's marker in a history records about it (SDK Core's marker data). */
export function localActivityMarker(attrs: { details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null }) {
  const data = attrs.details?.data?.payloads?.[0]?.data;
  if (!data) throw new Error('not a local activity marker');
  return JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string; attempt: number };
}

/** Recorded workflow histories, replayed by `replay.test.ts` (re-record with `npm run record:histories`). */
export const HISTORIES_DIR = fileURLToPath(new URL('./histories', import.meta.url));

/** Whether every one of `pids` has exited within `timeoutMs`. */
export async function allGone(pids: number[], timeoutMs = 5_000): Promise<boolean> {
  return waitUntil(() => pids.every((pid) => !isAlive(pid)), timeoutMs, 100);
}

/** Kills a process outright, for cleanup after a failed test. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
