/** Builds the reservation worker: the workflow bundle plus activities wired to their dependencies. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.js';

const workflowsPath = ['../workflows/index.ts', '../workflows/index.js']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p))!;

export interface ReservationWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Replace or wrap activities (tests inject faults here). */
  activities?: WorkerOptions['activities'];
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export async function createReservationWorker(options: ReservationWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    activities: options.activities ?? createActivities(options.deps),
  });
}
