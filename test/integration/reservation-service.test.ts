/**
 * The reservation service without HTTP: app/reservation/service.ts called directly, against the real
 * PostgreSQL, Temporal, worker and assignment service. Reserve (stock taken, sold out, a key's
 * repeat, a key reused for something else), cancel, complete, and the API's mapping of each status.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLine, DEFAULT_LINE } from '../../app/launch/line.js';
import { createSaleBoard, type SaleBoard } from '../../app/launch/sale-board.js';
import { RESERVATION_STATUSES, reservationWorkflowId, type ReservationStatus } from '../../app/reservation/contract.js';
import { toReservationDto } from '../../app/reservation/mapping.js';
import { insertReservation } from '../../app/reservation/repository.js';
import { createReserver } from '../../app/reservation/reserver.js';
import { createReservationService, type ReservationService, type ReservationServiceDeps } from '../../app/reservation/service.js';
import type { Principal } from '../../platform/auth.js';
import { newReservationId } from '../../platform/ids.js';
import { createLogger } from '../../platform/log.js';
import { DEFAULT_TEST_POLICY, eventually, inProcessAssignment, newProduct, newStore, stockOf, useTestStack } from '../helpers.js';

// A database of its own: the mapping's rows are written straight into the read model, past the
// workflow, and must not meet the other files' whole-database invariant checks.
const stack = useTestStack({ ownDatabase: true });
let board: SaleBoard;
let line: ReturnType<typeof createLine>;
let service: ReservationService;
/** The same parts with a clock `ms` ahead. */
let serviceAhead: (ms: number) => ReservationService;

beforeAll(async () => {
  const log = createLogger('service-test', 'warn');
  const { db, client: temporal } = stack;
  const taskQueue = stack.worker.taskQueue;
  // No sold-out memory: a unit given back is reservable at once.
  const reserver = createReserver({ db, temporal, taskQueue, admission: { leaseMs: 10_000, soldOutMemoryMs: 0, maxInFlight: 32 } }, (board = createSaleBoard(db, log)));
  line = createLine({ db, log, board, reserver, policy: DEFAULT_LINE, reservationPolicy: DEFAULT_TEST_POLICY });
  const deps: ReservationServiceDeps = { db, temporal, log, policy: DEFAULT_TEST_POLICY, assignment: inProcessAssignment(db) };
  service = createReservationService(deps, { reserver, line });
  serviceAhead = (ms) => createReservationService({ ...deps, now: () => Date.now() + ms }, { reserver, line });
});
afterAll(async () => {
  await line?.stop();
  board?.stop();
});

let serial = 0;
/** A customer of their own, with a verified number of their own. */
function customer(): Extract<Principal, { role: 'customer' }> {
  serial++;
  const digits = String((Date.now() % 10_000_000) + serial * 7919).padStart(8, '0').slice(-8);
  return { role: 'customer', sub: `c-service-${serial}-${randomBytes(3).toString('hex')}`, phone: `+8210${digits}` };
}

const request = (productId: number, extra: Partial<Parameters<ReservationService['reserve']>[1]> = {}) => ({
  productId,
  quantity: 1,
  fulfilment: 'PICKUP' as const,
  customer: { district: '강남구' },
  ...extra,
});

const reservationsOf = async (productId: number) =>
  (await stack.db.selectFrom('reservations').select(['id', 'status']).where('product_id', '=', productId).execute()).map((r) => r.id);

/** Reserves and expects the stock decision made (not a place in line). */
async function reserved(actor: Principal, productId: number, key?: string, extra: Parameters<typeof request>[1] = {}) {
  const answer = await service.reserve(actor, request(productId, extra), { key });
  if (answer.kind !== 'reserved') throw new Error(`expected the stock decision, got a place in line: ${JSON.stringify(answer)}`);
  return answer.reservation;
}

describe('reserve', () => {
  it('takes the stock when there is some: one reservation, one unit fewer, for the actor', async () => {
    const product = await newProduct(stack.db, 3);
    const actor = customer();
    const reservation = await reserved(actor, product.id);
    expect(['ACCEPTED', 'CONFIRMED']).toContain(reservation.status);
    expect(reservation).toMatchObject({ product_id: product.id, quantity: 1, customer_id: actor.sub, workflow_id: reservationWorkflowId(reservation.id) });
    expect(await stockOf(stack.db, product.id)).toBe(2);
    expect(await reservationsOf(product.id)).toEqual([reservation.id]);
    // The customer's contact comes from their identity, and their place from the request.
    const contact = await stack.db.selectFrom('reservation_contacts').selectAll().where('reservation_id', '=', reservation.id).executeTakeFirstOrThrow();
    expect(contact).toMatchObject({ customer_id: actor.sub, district: '강남구' });
    expect(contact.phone?.replace(/\D/g, '')).toBe(`0${actor.phone!.slice(3)}`);
  });

  it('refuses a sold-out product with 409 OUT_OF_STOCK, recorded as a REJECTED reservation without a workflow', async () => {
    const product = await newProduct(stack.db, 0);
    const refusal = service.reserve(customer(), request(product.id));
    await expect(refusal).rejects.toMatchObject({ status: 409, code: 'OUT_OF_STOCK' });
    const { reservationId } = ((await refusal.catch((p: { extra: { reservationId: string } }) => p)) as { extra: { reservationId: string } }).extra;
    expect(await reservationsOf(product.id)).toEqual([reservationId]);
    expect(await service.find(reservationId)).toMatchObject({ status: 'REJECTED', reject_reason: 'OUT_OF_STOCK', workflow_id: null });
    expect(await stockOf(stack.db, product.id)).toBe(0);
  });

  it('answers the same request under the same key as the first time, with one reservation and one unit taken', async () => {
    const product = await newProduct(stack.db, 5);
    const actor = customer();
    const key = `svc-${randomBytes(6).toString('hex')}`;
    const first = await reserved(actor, product.id, key);
    const again = await reserved(actor, product.id, key);
    expect(again.id).toBe(first.id);
    expect(await reservationsOf(product.id)).toEqual([first.id]);
    expect(await stockOf(stack.db, product.id)).toBe(4);
    // Another customer's same key is their own request.
    const other = await reserved(customer(), product.id, key);
    expect(other.id).not.toBe(first.id);
  });

  it('repeats a keyed refusal as it was: the same OUT_OF_STOCK with the same reservation', async () => {
    const product = await newProduct(stack.db, 0);
    const actor = customer();
    const key = `svc-${randomBytes(6).toString('hex')}`;
    const first = await service.reserve(actor, request(product.id), { key }).catch((p: unknown) => p);
    const again = await service.reserve(actor, request(product.id), { key }).catch((p: unknown) => p);
    expect(first).toMatchObject({ code: 'OUT_OF_STOCK', extra: { reservationId: expect.any(String) } });
    expect(again).toMatchObject({ code: 'OUT_OF_STOCK', extra: (first as { extra: object }).extra });
    expect(await reservationsOf(product.id)).toHaveLength(1);
  });

  it('refuses a different request under a used key with 422 IDEMPOTENCY_KEY_REUSED, reserving nothing more', async () => {
    const product = await newProduct(stack.db, 5);
    const actor = customer();
    const key = `svc-${randomBytes(6).toString('hex')}`;
    const first = await reserved(actor, product.id, key);
    await expect(service.reserve(actor, request(product.id, { fulfilment: 'DELIVERY' }), { key })).rejects.toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await reservationsOf(product.id)).toEqual([first.id]);
    expect(await stockOf(stack.db, product.id)).toBe(4);
  });
});

describe('cancel', () => {
  it('cancels through the workflow: CANCELLED with the reason, the stock back; a keyed repeat is answered, a new cancel refused', async () => {
    const product = await newProduct(stack.db, 2);
    const actor = customer();
    const { id } = await reserved(actor, product.id);
    const key = `cancel-${randomBytes(6).toString('hex')}`;
    const answered = await service.cancel(actor, (await service.find(id))!, { reason: 'changed my mind', key });
    expect(answered.id).toBe(id);
    const cancelled = await eventually(() => service.find(id), (v) => v?.status === 'CANCELLED');
    expect(cancelled).toMatchObject({ cancel_reason: 'changed my mind' });
    expect(await eventually(() => stockOf(stack.db, product.id), (n) => n === 2)).toBe(2);
    await expect(service.cancel(actor, cancelled!, { reason: 'changed my mind', key })).resolves.toMatchObject({ id, status: 'CANCELLED' });
    await expect(service.cancel(actor, cancelled!, { reason: 'another reason', key })).rejects.toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(service.cancel(actor, cancelled!)).rejects.toMatchObject({ status: 409, code: 'NOT_CANCELLABLE' });
  });

  it('refuses a reservation refused on arrival: it has no workflow to cancel', async () => {
    const product = await newProduct(stack.db, 0);
    const actor = customer();
    const { extra } = (await service.reserve(actor, request(product.id)).catch((p: unknown) => p)) as { extra: { reservationId: string } };
    await expect(service.cancel(actor, (await service.find(extra.reservationId))!)).rejects.toMatchObject({ status: 409, code: 'NOT_CANCELLABLE' });
  });
});

describe('complete', () => {
  it('refuses past the hold (by its clock), then completes a confirmed reservation through the workflow', async () => {
    const store = await newStore(stack.db, 5);
    const product = await newProduct(stack.db, 2);
    const actor = customer();
    const { id } = await reserved(actor, product.id, undefined, { customer: { latitude: store.latitude, longitude: store.longitude } });
    const confirmed = (await eventually(() => service.find(id), (v) => v?.status === 'CONFIRMED'))!;
    expect(confirmed.store_id).toBe(store.id);
    const staff: Principal = { role: 'store', sub: `staff-${store.id}`, storeId: store.id };
    await expect(serviceAhead(DEFAULT_TEST_POLICY.holdPeriodMs + 60_000).complete(staff, confirmed)).rejects.toMatchObject({ status: 409, code: 'HOLD_ENDED' });
    await service.complete(staff, confirmed, { by: 'staff-kim' });
    expect(await eventually(() => service.find(id), (v) => v?.status === 'COMPLETED')).toBeDefined();
    const requests = await stack.db.selectFrom('reservation_requests').select(['action', 'requested_by']).where('reservation_id', '=', id).execute();
    expect(requests).toEqual([{ action: 'complete', requested_by: 'staff-kim' }]);
    await expect(service.complete(staff, (await service.find(id))!)).rejects.toMatchObject({ status: 409, code: 'NOT_COMPLETABLE' });
  });
});

describe('the API mapping', () => {
  // The seed's Korean wording, and the English beside it.
  const LABELS: Record<ReservationStatus, { ko: string; en: string }> = {
    PENDING: { ko: '예약신청', en: 'Reservation requested' },
    REJECTED: { ko: '예약불가', en: 'Rejected: out of stock' },
    ACCEPTED: { ko: '배정대기', en: 'Accepted, waiting for a store' },
    CONFIRMED: { ko: '예약접수완료', en: 'Confirmed' },
    COMPLETED: { ko: '개통완료', en: 'Completed' },
    CANCEL_REQUESTED: { ko: '예약취소', en: 'Cancellation requested' },
    CANCELLED: { ko: '예약취소완료', en: 'Cancelled' },
    EXPIRED: { ko: '기간만료', en: 'Expired' },
  };

  it.each(RESERVATION_STATUSES)('maps a reservation that is %s, with its label and timeline', async (status) => {
    const product = await newProduct(stack.db, 1);
    const store = await newStore(stack.db, 1);
    const id = newReservationId();
    const customerId = `c-mapping-${id}`;
    await insertReservation(stack.db, { id, workflowId: reservationWorkflowId(id), productId: product.id, quantity: 2, customerId, fulfilment: 'DELIVERY', status, version: 1, rejectReason: status === 'REJECTED' ? 'OUT_OF_STOCK' : null }, undefined);
    const holdUntil = new Date('2026-12-24T09:00:00.000Z');
    await stack.db.updateTable('reservations').set({ store_id: store.id, store_name: 'Test store', store_distance_km: 1.5, store_address: 'test', hold_until: holdUntil }).where('id', '=', id).execute();
    const dto = toReservationDto((await service.find(id))!);
    expect(dto).toMatchObject({
      id,
      workflowId: `reservation-${id}`,
      status,
      statusLabel: LABELS[status],
      product: { id: product.id, sku: product.sku, name: product.name },
      quantity: 2,
      fulfilment: 'DELIVERY',
      store: { id: store.id, name: 'Test store', distanceKm: 1.5, address: 'test' },
      holdUntil: '2026-12-24T09:00:00.000Z',
      customerId,
      rejectReason: status === 'REJECTED' ? 'OUT_OF_STOCK' : null,
      cancelReason: null,
    });
    expect(dto.events).toEqual([{ status, label: LABELS[status], at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/), detail: status === 'REJECTED' ? 'OUT_OF_STOCK' : null }]);
    expect(Date.parse(dto.createdAt)).toBeLessThanOrEqual(Date.parse(dto.updatedAt));
    // A list maps the same row the same way, without the timeline.
    const page = await service.list({ customerId }, { limit: 5 });
    expect(page.items.map((r) => toReservationDto(r))).toEqual([{ ...dto, events: [] }]);
    expect(page.nextCursor).toBeNull();
  });

  it('maps a reservation without a store or hold as nulls', async () => {
    const product = await newProduct(stack.db, 0);
    const { extra } = (await service.reserve(customer(), request(product.id)).catch((p: unknown) => p)) as { extra: { reservationId: string } };
    expect(toReservationDto((await service.find(extra.reservationId))!)).toMatchObject({ workflowId: null, store: null, holdUntil: null, status: 'REJECTED' });
  });
});
