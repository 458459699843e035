/** The workflows the reservation worker registers. */
export { reservationWorkflow } from '../app/reservation/workflow.js';
export { reconcileWorkflow } from '../app/reconcile/workflow.js';
export { retentionWorkflow } from '../app/retention/workflow.js';
export { notifyDrainWorkflow } from '../app/notification/workflow.js';
