/**
 * Launch-day admission: a request may start a stock decision only while the product has units that
 * no other decision in flight has claimed. A claim is a row with a lease; `products.claimed` is the
 * sum of a product's claims, changed only together with them, so one conditional UPDATE of the
 * product row admits atomically however many API processes ask at once. The stock decision stays
 * the authority on the decrement: a claim only decides who may ask.
 */
import { sql } from 'kysely';
import type { Db } from '../schema.js';
import { contactFrom, type ContactRow } from './reservations.js';

export type Admission =
  | { outcome: 'ADMITTED'; product: { id: number; name: string } }
  /** Fewer units in stock (`stock`) than asked for: final. */
  | { outcome: 'SOLD_OUT'; product: { id: number; name: string }; stock: number }
  /** Units are in stock, but every one is claimed by a decision in flight: one may come free. */
  | { outcome: 'HELD'; product: { id: number; name: string } }
  | { outcome: 'UNKNOWN_PRODUCT' };

export interface ClaimRequest {
  reservationId: string;
  productId: number;
  quantity: number;
  /** How long the claim holds its units if nobody decides it (a crashed API or worker). */
  leaseMs: number;
}

/** Claims `quantity` units for a reservation if that many are unclaimed (saving its contact then); one statement. */
async function tryClaim(db: Db, c: ClaimRequest, contact?: ContactRow) {
  const { rows } = await sql<{ id: number; name: string; stock: number; admitted: boolean }>`
    with admitted as (
      update products set claimed = claimed + ${c.quantity}
      where id = ${c.productId} and stock - claimed >= ${c.quantity}
      returning id
    ), claim as (
      insert into stock_claims (reservation_id, product_id, quantity, expires_at)
      select ${c.reservationId}::text, id, ${c.quantity}::int, now() + ${c.leaseMs}::int * interval '1 millisecond' from admitted
      returning reservation_id as id
    )${contact ? sql`, contact as (${contactFrom('claim', contact)})` : sql``}
    select p.id, p.name, p.stock, exists (select 1 from claim) as admitted
    from products p where p.id = ${c.productId}`.execute(db);
  return rows[0];
}

/**
 * Admits a request (claiming its units, and saving the customer's contact with the claim), or says
 * why not. Expired claims of the product are swept before answering HELD, so a lost claim holds
 * its units for at most its lease.
 */
export async function admit(db: Db, c: ClaimRequest, contact?: ContactRow): Promise<Admission> {
  let row;
  try {
    row = await tryClaim(db, c, contact);
  } catch (err) {
    // The reservation already holds a claim (a repeat of the same request): it is admitted.
    if ((err as { code?: string }).code !== '23505') throw err;
    const product = await db.selectFrom('products').select(['id', 'name']).where('id', '=', c.productId).executeTakeFirstOrThrow();
    return { outcome: 'ADMITTED', product };
  }
  if (!row) return { outcome: 'UNKNOWN_PRODUCT' };
  const product = { id: row.id, name: row.name };
  if (row.admitted) return { outcome: 'ADMITTED', product };
  if (row.stock < c.quantity) return { outcome: 'SOLD_OUT', product, stock: row.stock };
  if ((await sweepExpiredClaims(db, c.productId)) > 0 && (await tryClaim(db, c, contact))?.admitted) return { outcome: 'ADMITTED', product };
  return { outcome: 'HELD', product };
}

/** Ends a reservation's claim (its decision is being made, or was abandoned); returns the units it held. */
export async function releaseClaim(db: Db, reservationId: string): Promise<number> {
  const { rows } = await sql<{ quantity: number }>`
    with released as (delete from stock_claims where reservation_id = ${reservationId} returning product_id, quantity)
    update products p set claimed = p.claimed - r.quantity from released r where p.id = r.product_id
    returning r.quantity`.execute(db);
  return rows[0]?.quantity ?? 0;
}

/** Ends the claims of a product whose lease has run out; returns how many there were. */
async function sweepExpiredClaims(db: Db, productId: number): Promise<number> {
  const { rows } = await sql<{ swept: number }>`
    with expired as (delete from stock_claims where product_id = ${productId} and expires_at <= now() returning quantity),
    settled as (
      update products set claimed = claimed - (select sum(quantity) from expired)
      where id = ${productId} and exists (select 1 from expired)
    )
    select count(*)::int as swept from expired`.execute(db);
  return rows[0]?.swept ?? 0;
}
