/** The notification drain, kept running by its Schedule (workers/schedules.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { DrainReport, NotifierActivities } from '../reservation/contract.js';

export interface NotifyDrainInput {
  /** Where the notifier polls. */
  notifierTaskQueue: string;
  /** How long this run keeps the notifier draining (its Schedule's interval: the next run starts as it ends). */
  maxMs: number;
}

/**
 * Has the Python notifier send every queued customer message, in order per reservation, for
 * `maxMs`. The notifier is woken by each row queued. A call that returns early (its notifier
 * shutting down for a deploy) is followed by another at once, which the next notifier to poll
 * takes: a restart costs the messages a moment, never the rest of the interval.
 */
export async function notifyDrainWorkflow(input: NotifyDrainInput): Promise<DrainReport> {
  const { notifyPending } = proxyActivities<NotifierActivities>({
    taskQueue: input.notifierTaskQueue,
    startToCloseTimeout: input.maxMs + 60_000,
    heartbeatTimeout: '30 seconds',
    // A notifier that keeps failing (its database down) is retried until the run ends.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
    scheduleToCloseTimeout: input.maxMs + 60_000,
  });
  const deadline = Date.now() + input.maxMs;
  const totals: DrainReport = { delivered: 0, failed: 0, batches: 0 };
  // Less than a second left is the next run's.
  while (deadline - Date.now() >= 1_000) {
    const report = await notifyPending({ maxMs: deadline - Date.now() });
    totals.delivered += report.delivered;
    totals.failed += report.failed;
    totals.batches += report.batches;
  }
  return totals;
}
