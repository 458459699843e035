/** The Temporal Schedules the worker keeps: the reconciler and the notification drain, every minute; retention, daily. */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { NOTIFY_DRAIN_WORKFLOW_TYPE, notifyDrainScheduleId, RECONCILE_WORKFLOW_TYPE, reconcilerScheduleId, RETENTION_WORKFLOW_TYPE, retentionScheduleId } from '../shared/contract.js';
import type { NotifyDrainInput } from '../workflows/notify-drain.js';

/**
 * Creates the reconciler's Schedule for `taskQueue` unless it exists (every replica of the worker
 * calls this; the first creates it). An existing Schedule keeps its settings: an operator may have
 * paused it or changed its interval in the Web UI or with `temporal schedule update`.
 */
export async function ensureReconcilerSchedule(client: Client, taskQueue: string, everyMs: number): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = reconcilerScheduleId(taskQueue);
  return ensureSchedule(client, {
    scheduleId,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow', workflowType: RECONCILE_WORKFLOW_TYPE, workflowId: scheduleId, taskQueue, args: [{}] },
    // A run still going when the next is due makes the next one unnecessary.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs },
    memo: { purpose: 'Settles reservations whose workflow ended abnormally; repairs read-model drift and orphan store slots' },
  });
}

/** Creates the retention Schedule unless it exists (as the reconciler's: an operator's changes stay). */
export async function ensureRetentionSchedule(client: Client, taskQueue: string, everyMs: number, retentionMs: number): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = retentionScheduleId(taskQueue);
  return ensureSchedule(client, {
    scheduleId,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow', workflowType: RETENTION_WORKFLOW_TYPE, workflowId: scheduleId, taskQueue, args: [{ retentionMs }] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs },
    memo: { purpose: `Purges personal data, free text and old Idempotency-Keys ${Math.round(retentionMs / 86_400_000)} days after a reservation ends` },
  });
}

/**
 * Creates the notification drain's Schedule unless it exists (as the reconciler's). Each run has
 * the notifier drain for most of the interval, so a refusal's message waits about a second, not
 * a minute; a run still going when the next is due (the notifier was down) makes it unnecessary.
 */
export async function ensureNotifyDrainSchedule(client: Client, taskQueue: string, notifierTaskQueue: string, everyMs: number): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = notifyDrainScheduleId(taskQueue);
  const input: NotifyDrainInput = { notifierTaskQueue, maxMs: Math.max(1_000, everyMs - 10_000) };
  return ensureSchedule(client, {
    scheduleId,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow', workflowType: NOTIFY_DRAIN_WORKFLOW_TYPE, workflowId: scheduleId, taskQueue, args: [input] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs },
    memo: { purpose: 'Has the notifier send the KakaoTalk messages no reservation workflow will: refusals at admission, reconciled endings' },
  });
}

async function ensureSchedule(client: Client, options: ScheduleOptions): Promise<{ scheduleId: string; created: boolean }> {
  try {
    await client.schedule.create(options);
    return { scheduleId: options.scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId: options.scheduleId, created: false };
    throw err;
  }
}
