/** The Temporal Schedules the worker keeps: the reconciler, every minute. */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { RECONCILE_WORKFLOW_TYPE, reconcilerScheduleId } from '../shared/contract.js';

/**
 * Creates the reconciler's Schedule for `taskQueue` unless it exists (every replica of the worker
 * calls this; the first creates it). An existing Schedule keeps its settings: an operator may have
 * paused it or changed its interval in the Web UI or with `temporal schedule update`.
 */
export async function ensureReconcilerSchedule(client: Client, taskQueue: string, everyMs: number): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = reconcilerScheduleId(taskQueue);
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: everyMs }] },
      action: { type: 'startWorkflow', workflowType: RECONCILE_WORKFLOW_TYPE, workflowId: scheduleId, taskQueue, args: [{}] },
      // A run still going when the next is due makes the next one unnecessary.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: everyMs },
      memo: { purpose: 'Settles reservations whose workflow ended abnormally; repairs read-model drift and orphan store slots' },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return { scheduleId, created: false };
    throw err;
  }
}
