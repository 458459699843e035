/**
 * Launch-day admission: a request may start a stock decision only while the product has units that
 * no other decision in flight has claimed, and while its customer (and phone number) hold fewer
 * units than the sale allows. A claim is a row with a lease; `products.claimed` is the sum of a
 * product's claims, changed only together with them, so one conditional UPDATE of the product row
 * admits atomically however many API processes ask at once. The allowance is taken in the same
 * statement (`allowances`, whose check constraint holds every holder within the cap even when two
 * admissions race). The stock decision stays the authority on the decrement: a claim only decides
 * who may ask.
 *
 * A request that arrives by itself (not from the line) is admitted only while nobody waits in the
 * product's line, the desk meters nothing and fewer than `maxInFlight` units are being decided: else
 * it is told to queue, and gets a place in line instead.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/schema.js';
import { contactFrom, type ContactRow } from '../reservation/repository.js';

type ProductRef = { id: number; name: string };

export type Admission =
  | { outcome: 'ADMITTED'; product: ProductRef }
  /** Fewer units in stock (`stock`) than asked for: final. */
  | { outcome: 'SOLD_OUT'; product: ProductRef; stock: number }
  /** Units are in stock, but every one is claimed by a decision in flight: one may come free. */
  | { outcome: 'HELD'; product: ProductRef }
  /** A request by itself that must take a place in line (people wait, the desk meters, or the system is busy). */
  | { outcome: 'QUEUE'; product: ProductRef }
  /** The customer or their number already holds as many units as the sale allows. */
  | { outcome: 'LIMIT_REACHED'; product: ProductRef; unitLimit: number }
  | { outcome: 'NOT_OPEN'; product: ProductRef; opensAt: Date }
  | { outcome: 'CLOSED'; product: ProductRef; closesAt: Date }
  | { outcome: 'UNKNOWN_PRODUCT' };

export interface ClaimRequest {
  reservationId: string;
  productId: number;
  quantity: number;
  /** How long the claim holds its units if nobody decides it (a crashed API or worker). */
  leaseMs: number;
  /** Whose allowances the units count against: `customer:<id>`, `phone:<key>`. */
  holders: string[];
  /** `direct`: a request by itself, gated by the line; `line`: a ticket the line admitted. */
  via: 'direct' | 'line';
  /** Units being decided at once above which a direct request queues instead. */
  maxInFlight: number;
}

interface ClaimRow {
  id: number;
  name: string;
  stock: number;
  claimed: number;
  admitted: boolean;
  unit_limit: number;
  over_limit: boolean;
  opens_at: Date | null;
  closes_at: Date | null;
  not_open: boolean;
  closed: boolean;
  queueing: boolean;
}

/** Claims units and allowance for a reservation if the sale lets it in (saving its contact then); one statement. */
async function tryClaim(db: Db, c: ClaimRequest, contact?: ContactRow) {
  const holders = sql`${c.holders}::text[]`;
  const gate =
    c.via === 'direct'
      ? sql`and not sale.not_open and not sale.closed and not sale.queueing and p.claimed + ${c.quantity} <= ${c.maxInFlight}`
      : sql``;
  const { rows } = await sql<ClaimRow>`
    with repeat as (
      -- The same reservation asked before (a keyed repeat, a ticket taken up again): admitted already.
      select exists (select 1 from allowance_uses u where u.reservation_id = ${c.reservationId}) as repeat
    ), sale as (
      select s.unit_limit, s.opens_at, s.closes_at,
        coalesce(s.opens_at > now(), false) as not_open,
        coalesce(s.closes_at <= now(), false) as closed,
        (s.issued > s.admitted or s.paused or s.admission_rate is not null) as queueing
      from sales s where s.product_id = ${c.productId}
    ), held as (
      select exists (
        select 1 from allowances a, sale
        where a.product_id = ${c.productId} and a.holder = any(${holders}) and a.used + ${c.quantity} > sale.unit_limit
      ) as over_limit
    ), admitted as (
      update products p set claimed = claimed + ${c.quantity}
      from sale, held, repeat
      where p.id = ${c.productId} and not repeat.repeat and p.stock - p.claimed >= ${c.quantity}
        and not held.over_limit and ${c.quantity} <= sale.unit_limit ${gate}
      returning p.id
    ), used as (
      insert into allowance_uses (reservation_id, product_id, holders, quantity)
      select ${c.reservationId}::text, id, ${holders}, ${c.quantity}::int from admitted
      returning product_id
    ), taken as (
      insert into allowances (product_id, holder, used, cap)
      select u.product_id, h, ${c.quantity}::int, sale.unit_limit from used u cross join unnest(${holders}) h cross join sale
      on conflict (product_id, holder) do update set used = allowances.used + excluded.used, cap = excluded.cap
      returning 1
    ), claim as (
      insert into stock_claims (reservation_id, product_id, quantity, expires_at)
      select ${c.reservationId}::text, id, ${c.quantity}::int, now() + ${c.leaseMs}::int * interval '1 millisecond' from admitted
      returning reservation_id as id
    )${contact ? sql`, contact as (${contactFrom('claim', contact)})` : sql``}
    select p.id, p.name, p.stock, p.claimed, exists (select 1 from claim) or repeat.repeat as admitted,
      sale.unit_limit, sale.opens_at, sale.closes_at, sale.not_open, sale.closed, sale.queueing, held.over_limit
    from products p cross join sale cross join held cross join repeat where p.id = ${c.productId}`.execute(db);
  return rows[0];
}

const SQLSTATE = { uniqueViolation: '23505', checkViolation: '23514' } as const;
const codeOf = (err: unknown) => (err as { code?: string }).code;

/** Why a claim that did not land was refused; undefined: units are only held (HELD or QUEUE). */
function refusal(row: ClaimRow, c: ClaimRequest, product: ProductRef): Admission | undefined {
  if (c.via === 'direct' && row.not_open) return { outcome: 'NOT_OPEN', product, opensAt: row.opens_at! };
  if (c.via === 'direct' && row.closed) return { outcome: 'CLOSED', product, closesAt: row.closes_at! };
  if (row.over_limit || c.quantity > row.unit_limit) return { outcome: 'LIMIT_REACHED', product, unitLimit: row.unit_limit };
  if (row.stock < c.quantity) return { outcome: 'SOLD_OUT', product, stock: row.stock };
  return undefined;
}

/**
 * Admits a request (claiming its units and allowance, and saving the customer's contact with the
 * claim), or says why not. Expired claims of the product are swept before answering HELD, so a lost
 * claim holds its units for at most its lease.
 */
export async function admit(db: Db, c: ClaimRequest, contact?: ContactRow): Promise<Admission> {
  let row;
  try {
    row = await tryClaim(db, c, contact);
  } catch (err) {
    // The reservation already holds a claim or an allowance (a repeat of the same request): it is admitted.
    if (codeOf(err) === SQLSTATE.uniqueViolation) return { outcome: 'ADMITTED', product: await productRef(db, c.productId) };
    // Two admissions of one holder raced past the check: the constraint kept the cap.
    if (codeOf(err) === SQLSTATE.checkViolation) return limitReached(db, c.productId);
    throw err;
  }
  if (!row) return { outcome: 'UNKNOWN_PRODUCT' };
  const product = { id: row.id, name: row.name };
  if (row.admitted) return { outcome: 'ADMITTED', product };
  const refused = refusal(row, c, product);
  if (refused) return refused;
  if (c.via === 'direct' && (row.queueing || row.claimed + c.quantity > c.maxInFlight)) return { outcome: 'QUEUE', product };
  if ((await sweepExpiredClaims(db, c.productId)) > 0 && (await tryClaim(db, c, contact))?.admitted) return { outcome: 'ADMITTED', product };
  return c.via === 'direct' ? { outcome: 'QUEUE', product } : { outcome: 'HELD', product };
}

async function productRef(db: Db, productId: number): Promise<ProductRef> {
  return db.selectFrom('products').select(['id', 'name']).where('id', '=', productId).executeTakeFirstOrThrow();
}

async function limitReached(db: Db, productId: number): Promise<Admission> {
  const row = await db
    .selectFrom('products as p')
    .innerJoin('sales as s', 's.product_id', 'p.id')
    .select(['p.id', 'p.name', 's.unit_limit'])
    .where('p.id', '=', productId)
    .executeTakeFirstOrThrow();
  return { outcome: 'LIMIT_REACHED', product: { id: row.id, name: row.name }, unitLimit: row.unit_limit };
}

/**
 * Ends a reservation's claim (its decision is being made) and marks its allowance decided, unless
 * the allowance was given back first (an admission given up on: `lapsed`). Returns the units the
 * claim held.
 */
export async function releaseClaim(db: Db, reservationId: string): Promise<{ quantity: number; lapsed: boolean }> {
  const { rows } = await sql<{ quantity: number | null; lapsed: boolean }>`
    with released as (delete from stock_claims where reservation_id = ${reservationId} returning product_id, quantity),
    settled as (update products p set claimed = p.claimed - r.quantity from released r where p.id = r.product_id returning r.quantity),
    decided as (
      update allowance_uses set decided_at = now()
      where reservation_id = ${reservationId} and decided_at is null and returned_at is null
      returning 1
    )
    select (select quantity from settled) as quantity,
      -- Undecided when the statement began, and not marked by it: given back first (a row lock decides which).
      exists (select 1 from allowance_uses u where u.reservation_id = ${reservationId} and u.decided_at is null)
        and not exists (select 1 from decided) as lapsed`.execute(db);
  return { quantity: rows[0]?.quantity ?? 0, lapsed: rows[0]?.lapsed ?? false };
}

/** Ends the claims of a product whose lease has run out; returns how many there were. */
export async function sweepExpiredClaims(db: Db, productId: number): Promise<number> {
  const { rows } = await sql<{ swept: number }>`
    with expired as (delete from stock_claims where product_id = ${productId} and expires_at <= now() returning quantity),
    settled as (
      update products set claimed = claimed - (select sum(quantity) from expired)
      where id = ${productId} and exists (select 1 from expired)
    )
    select count(*)::int as swept from expired`.execute(db);
  return rows[0]?.swept ?? 0;
}
