/** The Temporal Schedules the worker keeps: the reconciler every minute, the notification drain always running, retention daily. */
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
 * Creates the notification drain's Schedule, or brings an existing one to this release's shape.
 * Each run has the notifier drain (woken by every row queued) for the whole interval, and the next
 * run, buffered meanwhile, starts as it ends: a drain is always running. The interval and a pause
 * an operator set are kept.
 */
export async function ensureNotifyDrainSchedule(client: Client, taskQueue: string, notifierTaskQueue: string, everyMs: number): Promise<Ensured> {
  const input: NotifyDrainInput = { notifierTaskQueue, maxMs: everyMs };
  const scheduleId = notifyDrainScheduleId(taskQueue);
  const ensured = await ensureEvery(client, {
    scheduleId,
    workflowType: NOTIFY_DRAIN_WORKFLOW_TYPE,
    taskQueue,
    everyMs,
    args: [input],
    overlap: ScheduleOverlapPolicy.BUFFER_ONE,
    // Not a minute from now: messages are being queued already.
    startNow: true,
    purpose: "Has the notifier send every customer's KakaoTalk messages as they are queued",
  });
  if (!ensured.created) await reshapeDrain(client, scheduleId, input);
  return ensured;
}

/** A drain Schedule made by an earlier release (runs of part of the interval, skipped overlaps) takes this one's shape. */
async function reshapeDrain(client: Client, scheduleId: string, input: NotifyDrainInput): Promise<void> {
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const action = current.action;
  if (action.type !== 'startWorkflow') return;
  const same = JSON.stringify(action.args) === JSON.stringify([input]) && current.policies.overlap === ScheduleOverlapPolicy.BUFFER_ONE;
  if (same) return;
  await handle.update((prev) => ({
    ...prev,
    action: { ...action, args: [input] },
    policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.BUFFER_ONE },
  }));
  // The run of the old shape, if one is going, is followed at once by one of the new.
  if (!current.state.paused) await handle.trigger();
}

type Ensured = { scheduleId: string; created: boolean };

/** A Schedule starting `workflowType` (its id the Schedule's) every `everyMs`, created unless it exists. */
async function ensureEvery(
  client: Client,
  {
    scheduleId,
    workflowType,
    taskQueue,
    everyMs,
    args,
    purpose,
    overlap = ScheduleOverlapPolicy.SKIP,
    startNow = false,
  }: { scheduleId: string; workflowType: string; taskQueue: string; everyMs: number; args: unknown[]; purpose: string; overlap?: ScheduleOverlapPolicy; startNow?: boolean },
): Promise<Ensured> {
  const options: ScheduleOptions = {
    scheduleId,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow', workflowType, workflowId: scheduleId, taskQueue, args },
    // SKIP: a run still going when the next is due makes the next one unnecessary.
    policies: { overlap, catchupWindow: everyMs },
    memo: { purpose },
    ...(startNow ? { state: { triggerImmediately: true } } : {}),
  };
  try {
    await client.schedule.create(options);
    return { scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId, created: false };
    throw err;
  }
}
