/**
 * A reservation's plain data: its statuses and their labels, how it is fulfilled, what its customer
 * is told about. Importable anywhere, the browser bundle too (app/reservation/contract.ts, which
 * re-exports them, also defines Temporal signals and queries).
 */
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

export const FULFILMENTS = ['PICKUP', 'DELIVERY'] as const;
export type Fulfilment = (typeof FULFILMENTS)[number];

/** What a customer is told about (the outbox's `kind`). */
export const NOTIFICATION_KINDS = ['ACCEPTED', 'REJECTED', 'CONFIRMED', 'REASSIGNED', 'REMINDER', 'COMPLETED', 'CANCELLED', 'EXPIRED'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
