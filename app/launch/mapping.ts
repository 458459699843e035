/** The launch as the API shows it, in one place for the product routes and the launch desk. */
import type { SaleBoard, SaleView } from './sale-board.js';

/** A sale as the desk and the customers see it: settings, the line's counters, the lottery's record. */
export function toSaleDto(v: SaleView, board: SaleBoard) {
  const measured = board.rate(v.id);
  const perSecond = measured && measured.perSecond > 0 ? measured.perSecond : (v.admission_rate ?? null);
  return {
    productId: v.id,
    state: v.state,
    opensAt: v.opens_at?.toISOString() ?? null,
    closesAt: v.closes_at?.toISOString() ?? null,
    paused: v.paused,
    unitLimit: v.unit_limit,
    order: v.queue_order,
    admissionRate: v.admission_rate,
    queue: {
      issued: v.issued,
      admitted: v.admitted,
      waiting: v.waiting,
      admittedPerSecond: measured ? Math.round(measured.perSecond * 10) / 10 : null,
      lastInLineWaitSeconds: v.waiting > 0 && perSecond ? Math.ceil(v.waiting / perSecond) : null,
      soldOutAt: v.sold_out_at?.toISOString() ?? null,
    },
    lottery: {
      seedSha256: v.seed_sha256,
      seed: v.drawn_at ? v.seed : null,
      drawnAt: v.drawn_at?.toISOString() ?? null,
      drawn: v.drawn_count,
    },
  };
}
