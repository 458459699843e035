/** A reservation's plain data, from the module the API uses (app/reservation/statuses.ts: no Temporal SDK in it). */
export { FULFILMENTS, isCancellable, STATUS_LABELS, TERMINAL_STATUSES, type Fulfilment, type ReservationStatus } from '../app/reservation/statuses.js';
