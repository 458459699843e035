/**
 * The reservation contract shared by the API, the worker and the workflow: task queue, ids,
 * statuses, search attributes and the signal/update/query definitions. Workflow-safe: it imports
 * nothing but definitions from the Temporal SDK.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';

export const TASK_QUEUE = 'tshop-reservations';
export const WORKFLOW_TYPE = 'reservationWorkflow';

/** Reservation ids are 12 Crockford base32 characters, readable over the phone. */
export const RESERVATION_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{12}$/;
const WORKFLOW_ID_PREFIX = 'reservation-';

export function reservationWorkflowId(reservationId: string): string {
  return `${WORKFLOW_ID_PREFIX}${reservationId}`;
}

export const RESERVATION_STATUSES = [
  'PENDING',
  'REJECTED',
  'ACCEPTED',
  'CONFIRMED',
  'COMPLETED',
  'CANCEL_REQUESTED',
  'CANCELLED',
  'EXPIRED',
] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** Display labels for the customer centre (the seed's Korean wording first). */
export const STATUS_LABELS: Record<ReservationStatus, { ko: string; en: string }> = {
  PENDING: { ko: '예약신청', en: 'Reservation requested' },
  REJECTED: { ko: '예약불가', en: 'Rejected: out of stock' },
  ACCEPTED: { ko: '배정대기', en: 'Accepted, waiting for a store' },
  CONFIRMED: { ko: '예약접수완료', en: 'Confirmed' },
  COMPLETED: { ko: '개통완료', en: 'Completed' },
  CANCEL_REQUESTED: { ko: '예약취소', en: 'Cancellation requested' },
  CANCELLED: { ko: '예약취소완료', en: 'Cancelled' },
  EXPIRED: { ko: '기간만료', en: 'Expired' },
};

/** Statuses after which nothing more happens to a reservation. */
export const TERMINAL_STATUSES: ReadonlySet<ReservationStatus> = new Set([
  'REJECTED',
  'COMPLETED',
  'CANCELLED',
  'EXPIRED',
]);

export function isCancellable(status: ReservationStatus): boolean {
  return !TERMINAL_STATUSES.has(status) && status !== 'CANCEL_REQUESTED';
}

/** Custom search attributes; registered on the dev server and by the worker on any cluster. */
export const SearchAttributes = {
  status: defineSearchAttributeKey('ReservationStatus', 'KEYWORD'),
  productId: defineSearchAttributeKey('ReservationProductId', 'INT'),
  customerId: defineSearchAttributeKey('ReservationCustomerId', 'KEYWORD'),
} as const;

/** Workflow input. No personal data: contact details stay in PostgreSQL, keyed by reservation id. */
export interface ReservationInput {
  reservationId: string;
  productId: number;
  quantity: number;
  customerId: string;
}

export interface CancelRequest {
  reason?: string;
}

/** What the workflow knows about itself; answered by the `state` query and the `reserve` update. */
export interface ReservationState {
  reservationId: string;
  status: ReservationStatus;
  productId: number;
  quantity: number;
  rejectReason: string | null;
  cancelReason: string | null;
  /** Signals that arrived when they could no longer change anything (kept for operators). */
  ignoredSignals: { name: string; status: ReservationStatus; reason: string | null }[];
}

/** Update-with-Start target: resolves once the synchronous stock decision is made. */
export const reserveUpdate = defineUpdate<ReservationState>('reserve');
/** Cancel the reservation at any stage; sent by the API, the Web UI or `temporal workflow signal`. */
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
export const stateQuery = defineQuery<ReservationState>('state');
