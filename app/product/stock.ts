/** Stock moves: every change is an atomic UPDATE plus one ledger row with a unique key. */
import { sql } from 'kysely';
import type { Db, StockLedgerEntry, StockMoveKind } from '../../db/schema.js';
import { returnAllowance } from '../launch/allowances.js';

export const stockKeys = {
  reserve: (reservationId: string) => `reserve:${reservationId}`,
  release: (reservationId: string) => `release:${reservationId}`,
  initial: (sku: string) => `initial:${sku}`,
};

/** Takes `quantity` units if that many are left; returns the stock left and the product's name, or undefined when short. */
export async function takeStock(db: Db, productId: number, quantity: number): Promise<{ stock: number; name: string } | undefined> {
  return db
    .updateTable('products')
    .set({ stock: sql`stock - ${quantity}`, updated_at: sql`now()` })
    .where('id', '=', productId)
    .where('stock', '>=', quantity)
    .returning(['stock', 'name'])
    .executeTakeFirst();
}

export async function putBackStock(db: Db, productId: number, quantity: number): Promise<number> {
  const row = await db
    .updateTable('products')
    .set({ stock: sql`stock + ${quantity}`, updated_at: sql`now()` })
    .where('id', '=', productId)
    .returning('stock')
    .executeTakeFirstOrThrow();
  return row.stock;
}

/** Records a move; a second move with the same key violates the unique constraint (rolls back). */
export async function recordStockMove(
  db: Db,
  move: { productId: number; reservationId: string | null; kind: StockMoveKind; delta: number; key: string },
): Promise<void> {
  await db
    .insertInto('stock_ledger')
    .values({
      product_id: move.productId,
      reservation_id: move.reservationId,
      kind: move.kind,
      delta: move.delta,
      idempotency_key: move.key,
    })
    .execute();
}

async function findStockMove(db: Db, key: string): Promise<StockLedgerEntry | undefined> {
  return db.selectFrom('stock_ledger').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

export async function listStockMoves(db: Db, filter: { reservationId?: string; productId?: number } = {}) {
  let q = db.selectFrom('stock_ledger').selectAll().orderBy('id');
  if (filter.reservationId !== undefined) q = q.where('reservation_id', '=', filter.reservationId);
  if (filter.productId !== undefined) q = q.where('product_id', '=', filter.productId);
  return q.execute();
}

/**
 * Returns a reservation's stock with one RELEASE move, unless it took none or already gave it
 * back, and its customer's allowance with it; the quantity put back. Run in a transaction: a
 * concurrent duplicate collides on the release key and rolls back its UPDATE.
 */
export async function putBackReservationStock(trx: Db, reservationId: string): Promise<number> {
  await returnAllowance(trx, reservationId);
  const taken = await findStockMove(trx, stockKeys.reserve(reservationId));
  if (!taken || (await findStockMove(trx, stockKeys.release(reservationId)))) return 0;
  const quantity = -taken.delta;
  await putBackStock(trx, taken.product_id, quantity);
  await recordStockMove(trx, { productId: taken.product_id, reservationId, kind: 'RELEASE', delta: quantity, key: stockKeys.release(reservationId) });
  return quantity;
}
