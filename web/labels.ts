/** The statuses and their labels, from the module the API uses (shared/statuses.ts: no Temporal SDK in it). */
export { isCancellable, STATUS_LABELS, TERMINAL_STATUSES, type ReservationStatus } from '../shared/statuses.js';
