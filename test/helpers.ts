/** Shared test fixtures: the real database, a real worker on its own task queue, a Temporal client. */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { inject } from 'vitest';
import { createActivities, type Activities } from '../activities/index.js';
import { createApp } from '../api/app.js';
import { createProduct } from '../db/repositories/products.js';
import { listStockMoves } from '../db/repositories/stock.js';
import type { Database } from '../db/schema.js';
import { createLogger } from '../shared/log.js';
import { openDatabase } from '../scripts/stack.js';
import { createReservationWorker } from '../workers/worker.js';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
}

export const openTestDb = () => openDatabase(inject('databaseUrl'));

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

/** Runs a real worker on a fresh task queue; `wrap` can replace activities to inject faults. */
export async function startTestWorker(
  db: Kysely<Database>,
  wrap: (real: Activities) => Partial<Activities> = () => ({}),
): Promise<TestWorker> {
  const real = createActivities({ db });
  return startWorkerWith({ ...real, ...wrap(real) }, db);
}

/** Runs a real worker whose activities are exactly `activities` (mocks for workflow tests). */
export async function startWorkerWith(activities: Activities, db?: Kysely<Database>): Promise<TestWorker> {
  quietRuntime();
  const taskQueue = `test-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createReservationWorker({
    connection,
    namespace: 'default',
    taskQueue,
    deps: { db: db as Kysely<Database> },
    activities,
    workflowBundle: { codePath: inject('workflowBundlePath') },
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

/** The real API app wired to the real database and Temporal, on the given task queue. */
export function testApp(db: Kysely<Database>, client: Client, taskQueue: string) {
  return createApp({ db, temporal: client, taskQueue, log: createLogger('api-test', 'warn') });
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
