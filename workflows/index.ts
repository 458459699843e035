/** The workflows the reservation worker registers. */
export { reservationWorkflow } from './reservation.js';
export { reconcileWorkflow } from './reconcile.js';
export { retentionWorkflow } from './retention.js';
export { notifyDrainWorkflow } from './notify-drain.js';
