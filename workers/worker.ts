/** Builds the reservation worker: the workflow bundle plus activities wired to their dependencies. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from '../activities/index.js';

const workflowsPath = ['../workflows/index.ts', '../workflows/index.js']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p))!;

export interface ReservationWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Built by `createActivities(deps)`; tests wrap or replace them to inject faults. */
  activities: Activities;
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createReservationWorker(options: ReservationWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    activities: options.activities,
  });
}
