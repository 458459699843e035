/** Builds the reservation worker: the workflow bundle plus activities wired to their dependencies. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkerOptions } from '@temporalio/worker';
import type { Activities } from './activities.js';
import { cachedWorkflowBundle } from './bundle-cache.js';
import { DEPLOYMENT_NAME } from '../shared/queues.js';

export interface ReservationWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Built by `createActivities(deps)`; tests wrap or replace them to inject faults. */
  activities: Activities;
  /** A prebuilt workflow bundle; without one, the cached bundle of workers/workflows.ts, built first if missing (a few seconds). */
  workflowBundle?: { codePath: string } | { code: string };
  /** Defaults to the workflow code's own checksum, so every replica of one build agrees. */
  buildId?: string;
  identity?: string;
  /**
   * Activity interceptors, and workflow interceptor modules bundled with the workflow code (only
   * when this call bundles it: a prebuilt bundle must have been built with them).
   */
  interceptors?: { activity?: ActivityInterceptorsFactory[]; workflowModules?: string[] };
  sinks?: WorkerOptions['sinks'];
  /** Sealed payloads (platform/codec.ts) when keys are configured. */
  dataConverter?: WorkerOptions['dataConverter'];
}

/** The build id of a workflow bundle: the first 12 hex digits of its SHA-256. */
export function workflowBuildId(code: string): string {
  return createHash('sha256').update(code).digest('hex').slice(0, 12);
}

export async function createReservationWorker(options: ReservationWorkerOptions): Promise<Worker> {
  const bundle = options.workflowBundle;
  const code = !bundle
    ? await cachedWorkflowBundle(options.interceptors?.workflowModules)
    : 'code' in bundle
      ? bundle.code
      : await readFile(bundle.codePath, 'utf8');
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    workflowBundle: { code },
    activities: options.activities,
    ...(options.interceptors?.activity ? { interceptors: { activity: options.interceptors.activity } } : {}),
    ...(options.sinks ? { sinks: options.sinks } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    // The build id is stamped on every workflow task this worker completes, so an operator sees which
    // code ran each step. Routing by version stays off: running reservations move to new code, kept
    // compatible by patched() and the replay tests (docs/versioning.md).
    workerDeploymentOptions: {
      version: { deploymentName: DEPLOYMENT_NAME, buildId: options.buildId ?? workflowBuildId(code) },
      useWorkerVersioning: false,
    },
    // On SIGTERM, in-flight activities get 10 s to finish before they are cancelled (and retried
    // elsewhere); the process's own shutdown budget is 14 s.
    shutdownGraceTime: '10 seconds',
    shutdownForceTime: '12 seconds',
  });
}
