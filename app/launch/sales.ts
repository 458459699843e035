/**
 * A product's sale and its line. Tickets are numbered as they join (`issued`); `admitted` is the
 * watermark below which every place has been passed. Admitting the next customers reads a window of
 * places above the watermark and moves it: the work per admission is the same whether ten or a
 * hundred thousand people wait, and no waiting ticket is ever written to say how far ahead the line
 * is. Selling out moves the watermark past everyone in one update of the sale's row.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, Db, QueueOrder, Sale } from '../../db/schema.js';
import { sweepExpiredClaims } from './admission.js';

/** What the API's sale board reads, every product with its sale, and the database's clock. */
export interface SaleRow {
  id: number;
  sku: string;
  name: string;
  brand: string;
  price_krw: number;
  stock: number;
  claimed: number;
  opens_at: Date | null;
  closes_at: Date | null;
  paused: boolean;
  unit_limit: number;
  queue_order: QueueOrder;
  admission_rate: number | null;
  seed: string | null;
  seed_sha256: string | null;
  drawn_at: Date | null;
  drawn_count: number | null;
  issued: number;
  early_upto: number;
  admitted: number;
  sold_out_upto: number;
  sold_out_from: number;
  sold_out_at: Date | null;
  /** Tickets admitted whose admission has not finished. */
  in_admission: number;
  now: Date;
}

/** Every product with its sale: the catalogue and the lines, in one read. */
export async function readSales(db: Db): Promise<SaleRow[]> {
  const { rows } = await sql<SaleRow>`
    select p.id, p.sku, p.name, p.brand, p.price_krw, p.stock, p.claimed,
      s.opens_at, s.closes_at, s.paused, s.unit_limit, s.queue_order, s.admission_rate, s.seed, s.seed_sha256,
      s.drawn_at, s.drawn_count, s.issued::float8 as issued, s.early_upto::float8 as early_upto,
      s.admitted::float8 as admitted, s.sold_out_upto::float8 as sold_out_upto, s.sold_out_from::float8 as sold_out_from, s.sold_out_at,
      (select count(*)::int from queue_tickets t where t.product_id = p.id and t.state = 'ADMITTED') as in_admission, now() as now
    from products p join sales s on s.product_id = p.id
    order by p.id`.execute(db);
  return rows;
}

export interface SalePatch {
  opensAt?: Date | null;
  closesAt?: Date | null;
  paused?: boolean;
  unitLimit?: number;
  order?: QueueOrder;
  admissionRate?: number | null;
}

export type SaleChange = { ok: true; sale: Sale } | { ok: false; code: 'NOT_FOUND' | 'ORDER_FIXED' | 'LOTTERY_NEEDS_OPENING' | 'CLOSES_BEFORE_OPENING'; detail: string };

/** The lottery's seed, and the digest published before anyone joins: the seed cannot be chosen after seeing the tickets. */
function newSeed(): { seed: string; seed_sha256: string } {
  const seed = randomBytes(32).toString('hex');
  return { seed, seed_sha256: createHash('sha256').update(seed).digest('hex') };
}

/**
 * The desk changes a sale. The order (first-come or lottery) can change only while nobody waits
 * and the sale has not opened; a lottery needs an opening time, and gets its seed (and publishes
 * its digest) when it is set, or when a new opening follows a finished draw.
 */
export async function updateSale(db: Kysely<Database>, productId: number, patch: SalePatch): Promise<SaleChange> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('sales').selectAll().where('product_id', '=', productId).forUpdate().executeTakeFirst();
    if (!current) return { ok: false, code: 'NOT_FOUND', detail: `no product ${productId}` };
    const now = new Date();
    const opensAt = patch.opensAt !== undefined ? patch.opensAt : current.opens_at;
    const closesAt = patch.closesAt !== undefined ? patch.closesAt : current.closes_at;
    const order = patch.order ?? current.queue_order;
    if (opensAt && closesAt && closesAt <= opensAt) return { ok: false, code: 'CLOSES_BEFORE_OPENING', detail: 'the closing time must come after the opening time' };
    if (order !== current.queue_order) {
      const waiting = Number(current.issued) > Number(current.admitted);
      const opened = !current.opens_at || current.opens_at <= now;
      if (waiting || (opened && patch.opensAt === undefined)) {
        return { ok: false, code: 'ORDER_FIXED', detail: 'the order is set before the opening, while nobody waits in line' };
      }
    }
    // Choosing a lottery needs an opening still to come (there is nobody to draw among otherwise).
    if (order === 'LOTTERY' && current.queue_order !== 'LOTTERY' && (!opensAt || opensAt <= now)) {
      return { ok: false, code: 'LOTTERY_NEEDS_OPENING', detail: 'a lottery orders those who join before an opening time still to come: set opensAt' };
    }
    // A new opening after a draw is a new sale: a new draw, with a new seed (a pending seed stays, its digest already published).
    const reopened = patch.opensAt !== undefined && opensAt !== null && opensAt > now && current.drawn_at !== null;
    const seed = order === 'LOTTERY' && (current.seed === null || reopened || current.queue_order !== 'LOTTERY') ? newSeed() : {};
    const sale = await trx
      .updateTable('sales')
      .set({
        opens_at: opensAt,
        closes_at: closesAt,
        queue_order: order,
        ...(patch.paused !== undefined ? { paused: patch.paused } : {}),
        ...(patch.unitLimit !== undefined ? { unit_limit: patch.unitLimit } : {}),
        ...(patch.admissionRate !== undefined ? { admission_rate: patch.admissionRate, credit: 0, credited_at: null } : {}),
        ...(reopened ? { drawn_at: null, drawn_count: null } : {}),
        ...seed,
        updated_at: sql`now()`,
      })
      .where('product_id', '=', productId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, sale };
  });
}

/** A ticket the line let in: what its admission needs (its contact included). */
export interface AdmittedTicket {
  id: string;
  product_id: number;
  reservation_id: string;
  customer_id: string;
  phone_key: string | null;
  quantity: number;
  fulfilment: 'PICKUP' | 'DELIVERY';
  name: string | null;
  phone: string | null;
  district: string | null;
  latitude: number | null;
  longitude: number | null;
}

export interface TickPolicy {
  /** Units being decided at once, at most (the automatic admission rate: as fast as decisions complete). */
  maxInFlight: number;
  /** Tickets admitted by one tick, at most. */
  maxBatch: number;
  /** An admitted ticket whose admission has not finished after this long is taken up again (its process died). */
  retryAfterMs: number;
  /** The desk's rate may be saved up for this many seconds (a burst after a quiet spell). */
  burstSeconds: number;
}

export type Tick =
  /** Another API process is admitting this product right now. */
  | { kind: 'busy' }
  | { kind: 'idle' }
  | { kind: 'drawn'; count: number }
  | { kind: 'sold-out'; told: number }
  | { kind: 'admitted'; tickets: AdmittedTicket[]; passed: number };

const TICKET_COLUMNS = sql`t.id, t.product_id, t.reservation_id, t.customer_id, t.phone_key, t.quantity, t.fulfilment,
  t.name, t.phone, t.district, t.latitude, t.longitude`;

type LockedSale = Sale & { stock: number; claimed: number; now: Date };

/**
 * One step of a product's line, in one transaction that holds the sale's row (another process that
 * tries at the same time skips it): the draw when a lottery's opening has come; the sell-out when
 * the stock is gone; else the next tickets, in order, as many as the units free, the in-flight cap
 * and the desk's rate allow. Tickets nobody kept alive are passed over; tickets whose admission a
 * dead process left unfinished are taken up again.
 */
export async function admitNext(db: Kysely<Database>, productId: number, policy: TickPolicy): Promise<Tick> {
  return db.transaction().execute(async (trx) => {
    // One admitter per product across every API process, by an advisory lock rather than the sale's
    // row: joins write that row (numbering tickets) and would otherwise wait for the whole step.
    const { rows } = await sql<LockedSale & { mine: boolean }>`
      select s.*, p.stock, p.claimed, now() as now, pg_try_advisory_xact_lock(${ADMITTER_LOCK}, s.product_id) as mine
      from sales s join products p on p.id = s.product_id where s.product_id = ${productId}`.execute(trx);
    const sale = rows[0];
    if (!sale?.mine) return { kind: 'busy' };
    const now = sale.now;
    if (sale.opens_at && sale.opens_at > now) return { kind: 'idle' };
    // The draw and the sell-out number every ticket issued: with the row locked, so no join comes between.
    if (sale.queue_order === 'LOTTERY' && !sale.drawn_at && sale.seed) return { kind: 'drawn', count: await draw(trx, await lockSale(trx, productId)) };
    if ((sale.closes_at && sale.closes_at <= now) || sale.paused) return { kind: 'idle' };
    if (sale.stock <= 0) return { kind: 'sold-out', told: await sellOut(trx, await lockSale(trx, productId)) };
    // Claims whose decision never came (a process died) hold their units for their lease only.
    if ((await sweepExpiredClaims(trx, productId)) > 0) sale.claimed = (await claimedOf(trx, productId)) ?? sale.claimed;
    const retried = await retryStale(trx, productId, policy);
    const unclaimed = await unclaimedUnits(trx, productId);
    const free = Math.min(sale.stock - sale.claimed - unclaimed, policy.maxInFlight - sale.claimed - unclaimed);
    const credit = creditOf(sale, now, policy.burstSeconds);
    const budget = { units: Math.max(0, free), tickets: Math.min(policy.maxBatch, credit === undefined ? Infinity : Math.floor(credit)) };
    // Tickets issued after the read above are not seen by this step (its window ends at `issued` as read).
    const step = await passWindow(trx, sale, budget);
    await sql`
      update sales set admitted = ${String(step.watermark)}
        ${step.watermark !== Number(sale.admitted) ? sql`, updated_at = now()` : sql``}
        -- The desk may have changed the rate meanwhile (and reset the credit): then its reset stands.
        ${credit === undefined ? sql`` : sql`, credit = case when admission_rate = ${sale.admission_rate} then ${credit - step.admitted.length} else credit end,
          credited_at = case when admission_rate = ${sale.admission_rate} then ${now} else credited_at end`}
      where product_id = ${productId}`.execute(trx);
    return { kind: 'admitted', tickets: [...retried, ...step.admitted], passed: step.watermark - Number(sale.admitted) };
  });
}

/** The admitter's advisory lock class (the product id is the other half of the key). */
const ADMITTER_LOCK = 0x54_53_41_44; // "TSAD"

/** The sale's row, locked until the transaction ends, with its product's stock. */
async function lockSale(trx: Db, productId: number): Promise<LockedSale> {
  const { rows } = await sql<LockedSale>`
    select s.*, p.stock, p.claimed, now() as now from sales s join products p on p.id = s.product_id
    where s.product_id = ${productId} for update of s`.execute(trx);
  return rows[0]!;
}

async function claimedOf(trx: Db, productId: number): Promise<number | undefined> {
  return (await trx.selectFrom('products').select('claimed').where('id', '=', productId).executeTakeFirst())?.claimed;
}

/** Tickets the desk's rate lets in now (saved up for at most `burstSeconds`); undefined: no rate set. */
function creditOf(sale: LockedSale, now: Date, burstSeconds: number): number | undefined {
  if (sale.admission_rate === null) return undefined;
  const since = sale.credited_at ? (now.getTime() - sale.credited_at.getTime()) / 1000 : 1;
  return Math.min(Math.max(1, sale.admission_rate * burstSeconds), sale.credit + sale.admission_rate * since);
}

/** Admitted tickets whose admission no process has finished within the retry time: taken up again. */
async function retryStale(trx: Db, productId: number, policy: TickPolicy): Promise<AdmittedTicket[]> {
  const { rows } = await sql<AdmittedTicket>`
    update queue_tickets t set admitted_at = now(), updated_at = now()
    where t.id in (
      select id from queue_tickets
      where product_id = ${productId} and state = 'ADMITTED'
        and (admitted_at is null or admitted_at < now() - ${policy.retryAfterMs}::int * interval '1 millisecond')
      order by position limit ${policy.maxBatch} for update skip locked)
    returning ${TICKET_COLUMNS}`.execute(trx);
  return rows;
}

/** Units of admitted tickets that hold no claim yet: in flight, though `products.claimed` does not count them. */
async function unclaimedUnits(trx: Db, productId: number): Promise<number> {
  const { rows } = await sql<{ units: number }>`
    select coalesce(sum(t.quantity), 0)::int as units from queue_tickets t
    where t.product_id = ${productId} and t.state = 'ADMITTED'
      and not exists (select 1 from stock_claims c where c.reservation_id = t.reservation_id)`.execute(trx);
  return rows[0]?.units ?? 0;
}

interface WindowRow {
  id: string;
  position: string;
  quantity: number;
  state: string;
  alive: boolean;
}

/**
 * Moves the watermark over the next places: live waiting tickets are admitted while units and
 * tickets last (never one behind a live ticket still waiting), tickets nobody kept alive lapse, and
 * a ticket asking for more units than there are at all is refused. Reads a few windows at most.
 */
async function passWindow(trx: Db, sale: LockedSale, budget: { units: number; tickets: number }) {
  let watermark = Number(sale.admitted);
  const top = Number(sale.issued);
  const admitted: string[] = [];
  const lapsed: string[] = [];
  const tooMany: string[] = [];
  let units = budget.units;
  for (let round = 0; round < 4 && units > 0 && admitted.length < budget.tickets && watermark < top; round++) {
    const upto = Math.min(top, watermark + Math.min(units, budget.tickets - admitted.length) + 64);
    const { rows } = await sql<WindowRow>`
      select id, position, quantity, state, alive_until > now() as alive from queue_tickets
      where product_id = ${sale.product_id} and position > ${watermark} and position <= ${upto}
      order by position`.execute(trx);
    let stopped = false;
    for (const t of rows) {
      if (t.state === 'WAITING' && t.alive) {
        if (t.quantity > sale.stock) tooMany.push(t.id);
        else if (t.quantity > units || admitted.length >= budget.tickets) {
          watermark = Number(t.position) - 1;
          stopped = true;
          break;
        } else {
          admitted.push(t.id);
          units -= t.quantity;
        }
      } else if (t.state === 'WAITING') lapsed.push(t.id);
      watermark = Number(t.position);
    }
    if (stopped) break;
    if (rows.length === 0 || Number(rows.at(-1)!.position) < upto) watermark = upto;
  }
  const ended = async (ids: string[], state: string, refusal: string | null) => {
    if (ids.length > 0) {
      await sql`update queue_tickets set state = ${state}, refusal = ${refusal}, ended_at = now(), updated_at = now()
        where id = any(${ids}::text[])`.execute(trx);
    }
  };
  await ended(lapsed, 'LAPSED', null);
  await ended(tooMany, 'SOLD_OUT', 'OUT_OF_STOCK');
  const { rows } = admitted.length
    ? await sql<AdmittedTicket>`
        update queue_tickets t set state = 'ADMITTED', admitted_at = now(), updated_at = now()
        where t.id = any(${admitted}::text[]) returning ${TICKET_COLUMNS}`.execute(trx)
    : { rows: [] as AdmittedTicket[] };
  return { watermark, admitted: rows };
}

/**
 * The product is sold out: every place issued so far has been passed, and those still waiting are
 * told SOLD_OUT by the sale's row alone (`sold_out_upto`), however many they are.
 */
async function sellOut(trx: Db, sale: LockedSale): Promise<number> {
  // Admitted tickets that hold no claim and no decision cannot get a unit now: told SOLD_OUT too.
  await sql`
    update queue_tickets t set state = 'SOLD_OUT', refusal = 'OUT_OF_STOCK', ended_at = now(), updated_at = now()
    where t.product_id = ${sale.product_id} and t.state = 'ADMITTED'
      and not exists (select 1 from stock_claims c where c.reservation_id = t.reservation_id)
      and not exists (select 1 from reservations r where r.id = t.reservation_id)`.execute(trx);
  const issued = Number(sale.issued);
  if (issued <= Number(sale.sold_out_upto) && Number(sale.admitted) >= issued) return 0;
  // Tickets issued since the sell-out (joins racing it) are told too: the same sell-out, on.
  if (Number(sale.sold_out_upto) > 0 && Number(sale.admitted) === Number(sale.sold_out_upto)) {
    await trx.updateTable('sales').set({ sold_out_upto: String(issued), admitted: String(issued), updated_at: sql`now()` }).where('product_id', '=', sale.product_id).execute();
    return issued - Number(sale.admitted);
  }
  // A second sell-out (after a restock): the first one's waiting tickets are written SOLD_OUT now,
  // once, so that one watermark of the sell-out stays enough to tell the rest.
  if (Number(sale.sold_out_upto) > 0) {
    await sql`
      update queue_tickets set state = 'SOLD_OUT', refusal = 'OUT_OF_STOCK', ended_at = now(), updated_at = now()
      where product_id = ${sale.product_id} and state = 'WAITING' and seq <= ${sale.sold_out_upto}
        and (position is null or position > ${sale.sold_out_from})`.execute(trx);
  }
  await trx
    .updateTable('sales')
    .set({ sold_out_upto: String(issued), sold_out_from: sale.admitted, admitted: String(issued), sold_out_at: sql`now()`, updated_at: sql`now()` })
    .where('product_id', '=', sale.product_id)
    .execute();
  return issued - Number(sale.admitted);
}

/**
 * The lottery: the early tickets still in line take places 1..n in the order of SHA-256 of
 * `<seed>:<ticket id>` (hex, ascending), which anyone can recompute from the published seed and
 * ticket list. Run once, when the opening has come.
 */
async function draw(trx: Db, sale: LockedSale): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with drawn as (
      select id, row_number() over (order by encode(sha256(convert_to(${sale.seed} || ':' || id, 'UTF8')), 'hex'), id) as place
      from queue_tickets
      where product_id = ${sale.product_id} and seq <= ${sale.early_upto} and position is null and state = 'WAITING'
    ), placed as (
      update queue_tickets t set position = d.place, updated_at = now() from drawn d where t.id = d.id returning 1
    )
    select count(*)::int as n from placed`.execute(trx);
  const count = rows[0]?.n ?? 0;
  await trx.updateTable('sales').set({ drawn_at: sql`now()`, drawn_count: count, updated_at: sql`now()` }).where('product_id', '=', sale.product_id).execute();
  return count;
}

/** The published record of a product's last draw: the seed, its digest, and the tickets in the order drawn. */
export async function drawRecord(db: Db, productId: number) {
  const sale = await db.selectFrom('sales').selectAll().where('product_id', '=', productId).executeTakeFirst();
  if (!sale) return undefined;
  const drawn = sale.drawn_at !== null;
  const tickets = drawn
    ? await db
        .selectFrom('queue_tickets')
        .select('id')
        .where('product_id', '=', productId)
        .where('position', '<=', String(sale.drawn_count ?? 0))
        .where('seq', '<=', sale.early_upto)
        .orderBy('position')
        .execute()
    : [];
  return {
    order: sale.queue_order,
    seedSha256: sale.seed_sha256,
    // Revealed only once drawn: before, it would let anyone predict the order.
    seed: drawn ? sale.seed : null,
    drawnAt: sale.drawn_at,
    tickets: tickets.map((t) => t.id),
  };
}

/** Takes the launch desk's sample of every product with a sale in progress (one statement). */
export async function recordSamples(db: Db, productIds: number[]): Promise<void> {
  if (productIds.length === 0) return;
  await sql`
    insert into sale_samples (product_id, at, stock, claimed, issued, admitted, waiting, accepted)
    select p.id, date_trunc('second', now()), p.stock, p.claimed, s.issued, s.admitted, greatest(s.issued - s.admitted, 0),
      coalesce((select -sum(l.delta) from stock_ledger l where l.product_id = p.id and l.kind = 'RESERVE'), 0)
    from products p join sales s on s.product_id = p.id
    where p.id = any(${productIds}::int[])
    -- Two samples in one second: the later figures stand (kept first, a move inside that second was lost).
    on conflict (product_id, at) do update set stock = excluded.stock, claimed = excluded.claimed, issued = excluded.issued,
      admitted = excluded.admitted, waiting = excluded.waiting, accepted = excluded.accepted`.execute(db);
}

/** The samples of the last `minutes`, oldest first. */
export async function listSamples(db: Db, minutes: number) {
  return db
    .selectFrom('sale_samples')
    .selectAll()
    .where('at', '>', sql<Date>`now() - ${minutes}::int * interval '1 minute'`)
    .orderBy('product_id')
    .orderBy('at')
    .execute();
}
