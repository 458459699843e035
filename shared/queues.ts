/**
 * Where the workers listen, the workflow types they register and the Schedules' ids: one list for
 * the API, the worker, the notifier's tests and the workflow sandbox (plain constants only).
 */
export const TASK_QUEUE = 'tshop-reservations';
/** The Worker Deployment name under which workers report their build id. */
export const DEPLOYMENT_NAME = 'tshop-reserve';
export const WORKFLOW_TYPE = 'reservationWorkflow';
export const RECONCILE_WORKFLOW_TYPE = 'reconcileWorkflow';
export const RETENTION_WORKFLOW_TYPE = 'retentionWorkflow';
export const NOTIFY_DRAIN_WORKFLOW_TYPE = 'notifyDrainWorkflow';
/** Where the Python notifier (notifier/) polls for the customer's KakaoTalk messages. */
export const NOTIFIER_TASK_QUEUE = 'tshop-notifications';

/**
 * The reconciler's Temporal Schedule for the workers of a task queue: `tshop-reconciler` for the
 * product's own queue (what operators see in the Web UI's Schedules page and `temporal schedule
 * list`), suffixed by the queue for any other.
 */
export function reconcilerScheduleId(taskQueue: string): string {
  return taskQueue === TASK_QUEUE ? 'tshop-reconciler' : `tshop-reconciler-${taskQueue}`;
}

/** The retention Schedule: `tshop-retention` for the product's own queue, suffixed for any other. */
export function retentionScheduleId(taskQueue: string): string {
  return taskQueue === TASK_QUEUE ? 'tshop-retention' : `tshop-retention-${taskQueue}`;
}

/** The notification drain's Schedule: `tshop-notify-drain` for the product's own queue, suffixed for any other. */
export function notifyDrainScheduleId(taskQueue: string): string {
  return taskQueue === TASK_QUEUE ? 'tshop-notify-drain' : `tshop-notify-drain-${taskQueue}`;
}
