/** The statuses and their labels, from the module the API uses (app/reservation/statuses.ts: no Temporal SDK in it). */
export { isCancellable, STATUS_LABELS, TERMINAL_STATUSES, type ReservationStatus } from '../app/reservation/statuses.js';
