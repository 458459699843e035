/** The Temporal Schedules the worker keeps: the reconciler and the notification drain, every minute; retention, daily. */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { NOTIFY_DRAIN_WORKFLOW_TYPE, notifyDrainScheduleId, RECONCILE_WORKFLOW_TYPE, reconcilerScheduleId, RETENTION_WORKFLOW_TYPE, retentionScheduleId } from '../shared/queues.js';
import type { NotifyDrainInput } from '../app/notification/workflow.js';

/**
 * Creates the reconciler's Schedule for `taskQueue` unless it exists (every replica of the worker
 * calls this; the first creates it). An existing Schedule keeps its settings: an operator may have
 * paused it or changed its interval in the Web UI or with `temporal schedule update`.
 */
export async function ensureReconcilerSchedule(client: Client, taskQueue: string, everyMs: number): Promise<Ensured> {
  return ensureEvery(client, {
    scheduleId: reconcilerScheduleId(taskQueue),
    workflowType: RECONCILE_WORKFLOW_TYPE,
    taskQueue,
    everyMs,
    args: [{}],
    purpose: 'Settles reservations whose workflow ended abnormally; repairs read-model drift and orphan store slots',
  });
}

/** Creates the retention Schedule unless it exists (as the reconciler's: an operator's changes stay). */
export async function ensureRetentionSchedule(client: Client, taskQueue: string, everyMs: number, retentionMs: number): Promise<Ensured> {
  return ensureEvery(client, {
    scheduleId: retentionScheduleId(taskQueue),
    workflowType: RETENTION_WORKFLOW_TYPE,
    taskQueue,
    everyMs,
    args: [{ retentionMs }],
    purpose: `Purges personal data, free text and old Idempotency-Keys ${Math.round(retentionMs / 86_400_000)} days after a reservation ends`,
  });
}

/**
 * Creates the notification drain's Schedule unless it exists (as the reconciler's). Each run has
 * the notifier drain for most of the interval, so a refusal's message waits about a second, not
 * a minute.
 */
export async function ensureNotifyDrainSchedule(client: Client, taskQueue: string, notifierTaskQueue: string, everyMs: number): Promise<Ensured> {
  const input: NotifyDrainInput = { notifierTaskQueue, maxMs: Math.max(1_000, everyMs - 10_000) };
  return ensureEvery(client, {
    scheduleId: notifyDrainScheduleId(taskQueue),
    workflowType: NOTIFY_DRAIN_WORKFLOW_TYPE,
    taskQueue,
    everyMs,
    args: [input],
    purpose: 'Has the notifier send the KakaoTalk messages no reservation workflow will: refusals at admission, reconciled endings',
  });
}

type Ensured = { scheduleId: string; created: boolean };

/** A Schedule starting `workflowType` (its id the Schedule's) every `everyMs`, created unless it exists. */
async function ensureEvery(
  client: Client,
  { scheduleId, workflowType, taskQueue, everyMs, args, purpose }: { scheduleId: string; workflowType: string; taskQueue: string; everyMs: number; args: unknown[]; purpose: string },
): Promise<Ensured> {
  const options: ScheduleOptions = {
    scheduleId,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow', workflowType, workflowId: scheduleId, taskQueue, args },
    // A run still going when the next is due makes the next one unnecessary.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs },
    memo: { purpose },
  };
  try {
    await client.schedule.create(options);
    return { scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId, created: false };
    throw err;
  }
}
