/** Stock moves: every change is an atomic UPDATE plus one ledger row with a unique key. */
import { sql } from 'kysely';
import type { ReservationStatus } from '../../shared/contract.js';
import type { Db, StockLedgerEntry, StockMoveKind } from '../schema.js';
import type { OutboxEntry } from './notifications.js';
import type { NewReservationRow } from './reservations.js';

export const stockKeys = {
  reserve: (reservationId: string) => `reserve:${reservationId}`,
  release: (reservationId: string) => `release:${reservationId}`,
  initial: (sku: string) => `initial:${sku}`,
};

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

export async function findStockMove(db: Db, key: string): Promise<StockLedgerEntry | undefined> {
  return db.selectFrom('stock_ledger').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
}

export async function listStockMoves(db: Db, filter: { reservationId?: string; productId?: number } = {}) {
  let q = db.selectFrom('stock_ledger').selectAll().orderBy('id');
  if (filter.reservationId !== undefined) q = q.where('reservation_id', '=', filter.reservationId);
  if (filter.productId !== undefined) q = q.where('product_id', '=', filter.productId);
  return q.execute();
}

/** What a stock decision finds before it is made: a decision already recorded, and the product. */
export async function beforeDecision(db: Db, reservationId: string, productId: number) {
  const { rows } = await sql<{ recorded: ReservationStatus | null; product_name: string | null }>`
    select (select status from reservations where id = ${reservationId}) as recorded,
           (select name from products where id = ${productId}) as product_name`.execute(db);
  return rows[0]!;
}

export interface DecisionRecord {
  row: NewReservationRow;
  /** What the customer is told either way. */
  accepted: OutboxEntry;
  rejected: OutboxEntry;
}

/**
 * The stock decision in one statement: ends the request's admission claim, takes the stock if
 * enough is left (with its ledger row), and records the reservation ACCEPTED or REJECTED with its
 * timeline event and notification. The product row is locked first, so the decision sees the
 * stock as it is; a concurrent duplicate collides on the ledger key or the reservation id and
 * changes nothing. Returns whether the stock was taken.
 */
export async function recordStockDecision(db: Db, d: DecisionRecord): Promise<boolean> {
  const { row } = d;
  const outbox = (e: OutboxEntry) => sql`(${e.kind}::text, ${e.message.ko}::text, ${e.message.en}::text, ${JSON.stringify(e.payload)}::jsonb)`;
  const { rows } = await sql<{ accepted: boolean }>`
    with claim as (
      delete from stock_claims where reservation_id = ${row.id} returning quantity
    ), product as (
      select stock from products where id = ${row.productId} for update
    ), moved as (
      update products set
        stock = products.stock - case when product.stock >= ${row.quantity} then ${row.quantity}::int else 0 end,
        claimed = products.claimed - coalesce((select sum(quantity) from claim), 0),
        updated_at = now()
      from product where products.id = ${row.productId}
      returning product.stock >= ${row.quantity} as accepted
    ), ledger as (
      insert into stock_ledger (product_id, reservation_id, kind, delta, idempotency_key)
      select ${row.productId}, ${row.id}, 'RESERVE', ${-row.quantity}::int, ${stockKeys.reserve(row.id)} from moved where accepted
    ), r as (
      insert into reservations (id, workflow_id, product_id, quantity, customer_id, fulfilment, status, version, reject_reason)
      select ${row.id}, ${row.workflowId}, ${row.productId}, ${row.quantity}, ${row.customerId}, ${row.fulfilment},
             case when accepted then 'ACCEPTED' else 'REJECTED' end, ${row.version}, case when accepted then null else 'OUT_OF_STOCK' end
      from moved
      returning id, status, reject_reason
    ), e as (
      insert into reservation_events (reservation_id, status, detail) select id, status, reject_reason from r
    ), n as (
      insert into notifications (reservation_id, kind, message_ko, message_en, payload)
      select r.id, m.kind, m.ko, m.en, m.payload from r join (values ${outbox(d.accepted)}, ${outbox(d.rejected)}) as m(kind, ko, en, payload) on m.kind = r.status
    )
    select accepted from moved`.execute(db);
  return rows[0]?.accepted ?? false;
}
