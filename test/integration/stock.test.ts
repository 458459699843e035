/** Stock activities against the real PostgreSQL: atomic, idempotent, never oversold. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { createStockActivities } from '../../app/product/activities.js';
import type { Database } from '../../db/schema.js';
import { newReservationId } from '../../platform/ids.js';
import { movesOf, newProduct, openTestDb, stockOf } from '../helpers.js';

let db: Kysely<Database>;
let stock: ReturnType<typeof createStockActivities>;
beforeAll(async () => {
  db = await openTestDb();
  stock = createStockActivities({ db });
});
afterAll(() => db.destroy());

const input = (productId: number, quantity = 1) => ({
  reservationId: newReservationId(),
  productId,
  quantity,
  customerId: 'c-test',
  fulfilment: 'PICKUP' as const,
  policy: { assignmentDeadlineMs: 1_000, holdPeriodMs: 1_000, reminderBeforeMs: 0 },
});

describe('reserveStock', () => {
  it('takes stock once and records one ledger row, however often it is retried', async () => {
    const product = await newProduct(db, 3);
    const req = input(product.id, 2);
    const results = await Promise.all([stock.reserveStock(req), stock.reserveStock(req).catch(() => stock.reserveStock(req))]);
    expect(await stock.reserveStock(req)).toEqual({ accepted: true });
    expect(results).toEqual([{ accepted: true }, { accepted: true }]);
    expect(await stockOf(db, product.id)).toBe(1);
    const moves = await movesOf(db, req.reservationId);
    expect(moves.map((m) => [m.kind, m.delta])).toEqual([['RESERVE', -2]]);
  });

  it('rejects when short, changing no stock and writing no ledger row', async () => {
    const product = await newProduct(db, 1);
    const req = input(product.id, 2);
    expect(await stock.reserveStock(req)).toEqual({ accepted: false, reason: 'OUT_OF_STOCK' });
    expect(await stockOf(db, product.id)).toBe(1);
    expect(await movesOf(db, req.reservationId)).toEqual([]);
    const row = await db.selectFrom('reservations').select('status').where('id', '=', req.reservationId).executeTakeFirst();
    expect(row?.status).toBe('REJECTED');
  });

  it('never oversells under concurrency', async () => {
    const product = await newProduct(db, 5);
    const decisions = await Promise.all(Array.from({ length: 25 }, () => stock.reserveStock(input(product.id))));
    expect(decisions.filter((d) => d.accepted)).toHaveLength(5);
    expect(await stockOf(db, product.id)).toBe(0);
    const ledger = await db
      .selectFrom('stock_ledger')
      .select((eb) => eb.fn.sum<string>('delta').as('sum'))
      .where('product_id', '=', product.id)
      .executeTakeFirstOrThrow();
    expect(Number(ledger.sum)).toBe(0);
  });
});

const final = { status: 'CANCELLED' as const, version: 2 };

describe('releaseStock', () => {
  it('puts stock back exactly once, also when called concurrently and again later', async () => {
    const product = await newProduct(db, 2);
    const req = input(product.id, 2);
    await stock.reserveStock(req);
    const settled = await Promise.allSettled([
      stock.releaseStock({ reservationId: req.reservationId, final }),
      stock.releaseStock({ reservationId: req.reservationId, final }),
    ]);
    expect(settled.some((s) => s.status === 'fulfilled' && s.value.released === 2)).toBe(true);
    expect(await stock.releaseStock({ reservationId: req.reservationId, final })).toEqual({ released: 0 });
    expect(await stockOf(db, product.id)).toBe(2);
    const row = await db.selectFrom('reservations').select(['status', 'version']).where('id', '=', req.reservationId).executeTakeFirst();
    expect(row).toEqual({ status: 'CANCELLED', version: 2 });
    const moves = await movesOf(db, req.reservationId);
    expect(moves.map((m) => [m.kind, m.delta])).toEqual([['RESERVE', -2], ['RELEASE', 2]]);
  });

  it('is a no-op for a reservation that never took stock', async () => {
    const product = await newProduct(db, 0);
    const req = input(product.id); // never decided: cancelled before its decision ran
    expect(await stock.releaseStock({ reservationId: req.reservationId, final })).toEqual({ released: 0 });
    expect(await stockOf(db, product.id)).toBe(0);
    expect(await movesOf(db, req.reservationId)).toEqual([]);
  });
});

describe('abandonReservation', () => {
  it('gives back the stock of an attempt that committed after all, and ends REJECTED', async () => {
    const product = await newProduct(db, 1);
    const req = input(product.id);
    await stock.reserveStock(req);
    await stock.abandonReservation({ input: req, version: 2 });
    expect(await stockOf(db, product.id)).toBe(1);
    const row = await db.selectFrom('reservations').select(['status', 'reject_reason']).where('id', '=', req.reservationId).executeTakeFirst();
    expect(row?.status).toBe('REJECTED');
  });

  it('leaves a REJECTED record that keeps a late attempt from taking stock', async () => {
    const product = await newProduct(db, 1);
    const req = input(product.id);
    await stock.abandonReservation({ input: req, version: 2 });
    expect(await stock.reserveStock(req)).toEqual({ accepted: false, reason: 'OUT_OF_STOCK' });
    expect(await stockOf(db, product.id)).toBe(1);
    expect(await movesOf(db, req.reservationId)).toEqual([]);
  });
});
