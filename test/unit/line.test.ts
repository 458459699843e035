/** What a place in line shows, from its row and its line's counters alone: place, people ahead, the wait, when to ask again. */
import { describe, expect, it } from 'vitest';
import { ticketView } from '../../app/launch/line.js';
import { saleStateOf, type MeasuredRate, type SaleView } from '../../app/launch/sale-board.js';
import type { QueueTicket } from '../../db/schema.js';

const NOW = Date.parse('2026-12-24T01:00:00Z');
const LEASE = 120_000;

function sale(over: Partial<SaleView> = {}): SaleView {
  const row = {
    id: 1, sku: 'p', name: 'Phone', brand: 'B', price_krw: 1, stock: 100, claimed: 0, opens_at: null, closes_at: null, paused: false,
    unit_limit: 1, queue_order: 'FIFO' as const, admission_rate: null, seed: null, seed_sha256: null, drawn_at: null, drawn_count: null,
    issued: 1_000, early_upto: 0, admitted: 100, sold_out_upto: 0, sold_out_from: 0, sold_out_at: null, in_admission: 0, now: new Date(NOW), ...over,
  };
  return { ...row, state: saleStateOf(row), waiting: row.issued - row.admitted, readAt: NOW };
}

function ticket(over: Partial<QueueTicket> = {}): QueueTicket {
  return {
    id: 'T00000000001', product_id: 1, reservation_id: 'R00000000001', seq: '500', position: '500', customer_id: 'c-1', phone_key: null,
    quantity: 1, fulfilment: 'PICKUP', name: null, phone: null, district: null, latitude: null, longitude: null, state: 'WAITING',
    refusal: null, alive_until: new Date(NOW + 60_000), joined_at: new Date(NOW - 10_000), admitted_at: null, ended_at: null,
    updated_at: new Date(NOW - 10_000), ...over,
  };
}

const rate = (perSecond: number, low = perSecond, high = perSecond): MeasuredRate => ({ perSecond, low, high, window: 30 });

describe('a waiting ticket', () => {
  it('counts the people ahead from the watermark, and waits for them at the measured rate, the range from its slowest and fastest spells', () => {
    const view = ticketView(ticket(), sale({ stock: 1_000 }), rate(40, 20, 80), LEASE, NOW);
    expect(view).toMatchObject({ status: 'WAITING', position: 500, ahead: 399 });
    // 400 places at 40 a second: 10 s; at 80: 5 s; at 20: 20 s.
    expect(view.estimatedWait).toEqual({ seconds: 10, low: 5, high: 20, admittedPerSecond: 40, soldOutLikely: false, soldOutInSeconds: null });
    expect(view.pollAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('says honestly when fewer units are left than people ahead: the stock is likely gone first, and when; the page asks then', () => {
    // 100 units for 400 places at 40 a second: gone in about 3 s, long before this turn's 10 s.
    const view = ticketView(ticket(), sale({ stock: 100 }), rate(40, 20, 80), LEASE, NOW);
    expect(view.estimatedWait).toMatchObject({ seconds: 10, soldOutLikely: true, soldOutInSeconds: 3 });
    expect(view.sale.unitsLeft).toBe(100);
    // Asked then, spread over two seconds; and never every second, however close the sell-out.
    expect(view.pollAfterSeconds).toBeGreaterThanOrEqual(3);
    expect(view.pollAfterSeconds).toBeLessThanOrEqual(5);
    const almostGone = ticketView(ticket(), sale({ stock: 10 }), rate(40, 20, 80), LEASE, NOW);
    expect(almostGone.estimatedWait).toMatchObject({ soldOutLikely: true, soldOutInSeconds: 1 });
    expect(almostGone.pollAfterSeconds).toBeGreaterThanOrEqual(3);
  });

  it('uses the desk rate before anything was measured, adds the time to the opening, and knows nothing while paused', () => {
    const scheduled = sale({ opens_at: new Date(NOW + 30_000), admission_rate: 10, admitted: 0 });
    expect(ticketView(ticket({ position: '20' }), scheduled, undefined, LEASE, NOW).estimatedWait).toMatchObject({ seconds: 32 });
    expect(ticketView(ticket(), sale(), undefined, LEASE, NOW).estimatedWait).toBeNull();
    expect(ticketView(ticket(), sale({ paused: true }), rate(40), LEASE, NOW)).toMatchObject({ status: 'WAITING', sale: { state: 'PAUSED' }, estimatedWait: null });
  });

  it('has no place until a lottery is drawn', () => {
    const view = ticketView(ticket({ position: null }), sale({ queue_order: 'LOTTERY', opens_at: new Date(NOW + 60_000), admitted: 0 }), undefined, LEASE, NOW);
    expect(view).toMatchObject({ status: 'WAITING', position: null, ahead: null, estimatedWait: null, sale: { order: 'LOTTERY', state: 'SCHEDULED' } });
  });

  it('asks again soon near the front, seldom far back, and never later than 20 s (a sell-out is learned at the next ask)', () => {
    const near = ticketView(ticket({ position: '101' }), sale(), rate(10), LEASE, NOW);
    const far = ticketView(ticket({ position: '90000', seq: '90000' }), sale({ issued: 100_000, stock: 1_000_000 }), rate(10), LEASE, NOW);
    expect(near.pollAfterSeconds).toBe(1);
    expect(far.pollAfterSeconds).toBe(20);
    // Before the opening nothing moves: ask at the opening (spread over two seconds), within half a lease.
    const early = ticketView(ticket({ position: null }), sale({ opens_at: new Date(NOW + 30_000), admitted: 0 }), undefined, LEASE, NOW);
    expect(early.pollAfterSeconds).toBeGreaterThanOrEqual(31);
    expect(early.pollAfterSeconds).toBeLessThanOrEqual(33);
    const muchEarlier = ticketView(ticket({ position: null }), sale({ opens_at: new Date(NOW + 3_600_000), admitted: 0 }), undefined, LEASE, NOW);
    expect(muchEarlier.pollAfterSeconds).toBe(LEASE / 2000);
  });
});

describe('a ticket whose turn has passed', () => {
  it('reads SOLD_OUT once the product sold out with it still waiting, however many there are', () => {
    const soldOut = sale({ stock: 0, sold_out_upto: 1_000, sold_out_from: 100, admitted: 1_000 });
    expect(ticketView(ticket(), soldOut, rate(40), LEASE, NOW)).toMatchObject({ status: 'SOLD_OUT', position: null, pollAfterSeconds: null });
    // A copy of a row read before the sell-out, of a place already let in: not SOLD_OUT (its row tells how it ended).
    expect(ticketView(ticket({ position: '90' }), soldOut, rate(40), LEASE, NOW).status).toBe('ADMITTED');
  });

  it('reads LAPSED when nobody kept it alive, ADMITTED once the watermark passed it, CLOSED after the closing', () => {
    expect(ticketView(ticket({ alive_until: new Date(NOW - 1) }), sale(), rate(40), LEASE, NOW).status).toBe('LAPSED');
    expect(ticketView(ticket({ position: '90' }), sale(), rate(40), LEASE, NOW)).toMatchObject({ status: 'ADMITTED', pollAfterSeconds: 1 });
    expect(ticketView(ticket(), sale({ closes_at: new Date(NOW - 1) }), rate(40), LEASE, NOW)).toMatchObject({ status: 'CLOSED', pollAfterSeconds: null });
  });

  it('reads what its row says once it ended, with its reservation when it got one', () => {
    const reserved = ticketView(ticket({ state: 'RESERVED', ended_at: new Date(NOW) }), sale(), rate(40), LEASE, NOW);
    expect(reserved).toMatchObject({ status: 'RESERVED', reservationId: 'R00000000001', pollAfterSeconds: null });
    expect(ticketView(ticket({ state: 'REFUSED', refusal: 'LIMIT_REACHED', ended_at: new Date(NOW) }), sale(), undefined, LEASE, NOW)).toMatchObject({ status: 'REFUSED', refusal: 'LIMIT_REACHED' });
  });
});
