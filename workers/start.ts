import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { existsSync } from 'node:fs';
import { createAssignmentBreaker } from '../app/assignment/activities.js';
import { createActivities } from './activities.js';
import type { Database } from '../db/schema.js';
import { resolveAssignmentToken } from '../platform/auth.js';
import { dataConverterFor } from '../platform/codec.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import { StartupError } from '../platform/process.js';
import { temporalConnection } from '../platform/temporal.js';
import { tracingWorkerOptions } from '../platform/tracing.js';
import { activityCompletionLog } from './activity-log.js';
import { createWorkerMetrics, serveWorkerMetrics } from './metrics.js';
import { sdkMetricsUrl } from './runtime.js';
import { ensureNotifyDrainSchedule, ensureReconcilerSchedule, ensureRetentionSchedule } from './schedules.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { createReservationWorker } from './worker.js';

export interface RunningWorker {
  worker: Worker;
  /** The worker's Prometheus endpoint, when it is being served. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** Registers search attributes if missing, then runs the reservation worker until stopped. */
export async function startWorker(
  config: Config,
  deps: { db: Kysely<Database>; temporalAddress: string; log: Logger; /** Serve GET /metrics here (workers/metrics.ts). */ metricsPort?: number },
): Promise<RunningWorker> {
  const tracing = tracingWorkerOptions();
  // With tracing on, the workflow code must carry the tracing interceptors: the tracing bundle.
  const { workflowBundlePath, workflowTracingBundlePath } = config.temporal;
  const traced = tracing !== undefined && workflowTracingBundlePath !== undefined;
  const bundleVar = traced ? 'WORKFLOW_TRACING_BUNDLE_PATH' : 'WORKFLOW_BUNDLE_PATH';
  const bundlePath = traced ? workflowTracingBundlePath : workflowBundlePath;
  if (bundlePath && !existsSync(bundlePath)) {
    throw new StartupError(`${bundleVar}=${bundlePath} does not exist (build it with "npm run build:bundle${traced ? ' -- --tracing' : ''}")`);
  }
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: deps.temporalAddress, ...temporalConnection(config.temporal.access) });
  } catch (err) {
    throw new StartupError(`Temporal unreachable at ${deps.temporalAddress}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const added = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (added.length > 0) deps.log.info('registered search attributes', { added });
  const dataConverter = dataConverterFor(config.temporal.payloadKeys);
  const schedules = new Client({ connection, namespace: config.temporal.namespace, ...(dataConverter ? { dataConverter } : {}) });
  if (config.reconcileEveryMs > 0) {
    const schedule = await ensureReconcilerSchedule(schedules, config.temporal.taskQueue, config.reconcileEveryMs);
    if (schedule.created) deps.log.info('created the reconciler schedule', schedule);
  }
  if (config.notifier.drainEveryMs > 0) {
    const schedule = await ensureNotifyDrainSchedule(schedules, config.temporal.taskQueue, config.notifier.taskQueue, config.notifier.drainEveryMs);
    if (schedule.created) deps.log.info('created the notification drain schedule', schedule);
  }
  if (config.retention.everyMs > 0) {
    const schedule = await ensureRetentionSchedule(schedules, config.temporal.taskQueue, config.retention.everyMs, config.retention.afterMs);
    if (schedule.created) deps.log.info('created the retention schedule', schedule);
  }
  const breaker = createAssignmentBreaker(config.assignment.breaker);
  if (tracing && bundlePath && !traced) {
    deps.log.warn('tracing: WORKFLOW_BUNDLE_PATH has no tracing interceptors and no WORKFLOW_TRACING_BUNDLE_PATH is set; workflow spans are missing', { bundlePath });
  }
  const worker = await createReservationWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    identity: config.temporal.workerIdentity,
    ...(dataConverter ? { dataConverter } : {}),
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    activities: createActivities({
      db: deps.db,
      assignmentUrl: config.assignment.url,
      assignmentToken: resolveAssignmentToken(config.assignment.token, config.dataDir),
      breaker,
    }),
    interceptors: { activity: [...(tracing?.activity ?? []), activityCompletionLog], workflowModules: tracing?.workflowModules },
    ...(tracing ? { sinks: tracing.sinks } : {}),
  });
  const running = worker.run();
  running.catch((err) => deps.log.error('worker stopped with an error', { error: err }));
  const metrics =
    deps.metricsPort === undefined
      ? undefined
      : await serveWorkerMetrics(
          createWorkerMetrics({ db: deps.db, breaker, sdkMetricsUrl: sdkMetricsUrl() }),
          config.workerMetrics.host,
          deps.metricsPort,
          deps.log,
        );
  return {
    worker,
    metricsUrl: metrics?.url,
    async stop() {
      await metrics?.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}
