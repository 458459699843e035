/** The notification drain, started every minute by its Schedule (workers/schedules.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { DrainReport, NotifierActivities } from '../reservation/contract.js';

export interface NotifyDrainInput {
  /** Where the notifier polls. */
  notifierTaskQueue: string;
  /** How long the notifier keeps draining before this run ends (the next run starts soon after). */
  maxMs: number;
}

/**
 * Hands the Python notifier the messages no reservation workflow will deliver: refusals at
 * admission (sold out on arrival: no workflow at all), the reconciler's endings, and any left
 * behind. The notifier sends them in order per reservation, paced, for `maxMs`.
 */
export async function notifyDrainWorkflow(input: NotifyDrainInput): Promise<DrainReport> {
  const { notifyPending } = proxyActivities<NotifierActivities>({
    taskQueue: input.notifierTaskQueue,
    startToCloseTimeout: input.maxMs + 60_000,
    heartbeatTimeout: '30 seconds',
    // The next run comes a minute later anyway.
    retry: { maximumAttempts: 3 },
  });
  return notifyPending({ maxMs: input.maxMs });
}
