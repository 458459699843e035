/**
 * The status labels of shared/contract.ts's STATUS_LABELS, copied: that module imports the
 * Temporal workflow SDK (query and signal definitions), which must not reach the browser bundle.
 * test/web.test.ts checks that the two stay equal.
 */
export const RESERVATION_STATUSES = ['PENDING', 'REJECTED', 'ACCEPTED', 'CONFIRMED', 'COMPLETED', 'CANCEL_REQUESTED', 'CANCELLED', 'EXPIRED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

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
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['REJECTED', 'COMPLETED', 'CANCELLED', 'EXPIRED']);

/** What a customer may still cancel (shared/contract.ts's isCancellable). */
export function isCancellable(status: string): boolean {
  return !TERMINAL_STATUSES.has(status) && status !== 'CANCEL_REQUESTED';
}
