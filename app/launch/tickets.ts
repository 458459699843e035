/**
 * Places in a product's line. Joining takes the next numbers from the sale's row for a whole group
 * of joins at once (one UPDATE of that row per group, not per customer), so a rush of joins does
 * not queue up behind one hot row. A customer (and a phone number) has one live ticket per product.
 */
import { sql } from 'kysely';
import type { Db, QueueTicket, TicketState } from '../../db/schema.js';

/** A customer's request for a place in line, with the contact its admission will need. */
export interface Join {
  id: string;
  reservationId: string;
  productId: number;
  customerId: string;
  phoneKey: string | null;
  quantity: number;
  fulfilment: 'PICKUP' | 'DELIVERY';
  name: string | null;
  phone: string | null;
  district: string | null;
  latitude: number | null;
  longitude: number | null;
  leaseMs: number;
}

export type JoinResult =
  | { outcome: 'ISSUED'; ticket: QueueTicket }
  /** The customer (or their number) already has a live ticket for the product: that one (`own`: the customer's, not the number's). */
  | { outcome: 'ALREADY_QUEUED'; ticketId: string; own: boolean }
  /** Their earlier ticket was not kept alive: end it, then join again. */
  | { outcome: 'LAPSED_TICKET'; ticketId: string }
  | { outcome: 'LIMIT_REACHED' }
  /** Lost a race with a join of the same customer elsewhere: try once more on its own. */
  | { outcome: 'RETRY' };

interface JoinRow {
  id: string;
  issued: boolean;
  seq: string | null;
  position: string | null;
  alive_until: Date | null;
  joined_at: Date | null;
  existing: string | null;
  existing_alive: boolean | null;
  existing_own: boolean | null;
  limited: boolean;
  first: string | null;
}

/** Issues tickets to a group of joins in one statement; answers each, in order. */
export async function issueTickets(db: Db, joins: Join[]): Promise<JoinResult[]> {
  const { rows } = await issueStatement(joins).execute(db);
  return rows.map((r, i) => resultOf(r, joins[i]!));
}

export function issueStatement(joins: Join[]) {
  const column = <T>(pick: (j: Join) => T) => joins.map(pick);
  return sql<JoinRow>`
    with given as (
      select * from unnest(
        ${column((j) => j.id)}::text[], ${column((j) => j.reservationId)}::text[], ${column((j) => j.productId)}::int[],
        ${column((j) => j.customerId)}::text[], ${column((j) => j.phoneKey)}::text[], ${column((j) => j.quantity)}::int[],
        ${column((j) => j.fulfilment)}::text[], ${column((j) => j.name)}::text[], ${column((j) => j.phone)}::text[],
        ${column((j) => j.district)}::text[], ${column((j) => j.latitude)}::float8[], ${column((j) => j.longitude)}::float8[],
        ${column((j) => j.leaseMs)}::int[]
      ) with ordinality as g(id, reservation_id, product_id, customer_id, phone_key, quantity, fulfilment, name, phone,
                              district, latitude, longitude, lease_ms, ord)
    ), live as (
      -- The customer's live ticket, or their number's: each looked up through its own unique index,
      -- per join (a join over every live ticket of the product would read the whole line each time).
      select g.id as given_id, f.ticket_id, f.alive, f.own from given g
      cross join lateral (
        select * from (
          (select t.id as ticket_id, t.alive_until > now() as alive, true as own, t.joined_at from queue_tickets t
           where t.product_id = g.product_id and t.customer_id = g.customer_id and t.ended_at is null)
          union all
          (select t.id, t.alive_until > now(), t.customer_id = g.customer_id, t.joined_at from queue_tickets t
           where t.product_id = g.product_id and t.phone_key = g.phone_key and t.ended_at is null)
        ) found order by joined_at limit 1
      ) f
    ), limited as (
      select g.id as given_id from given g join sales s on s.product_id = g.product_id
      where g.quantity > s.unit_limit or exists (
        select 1 from allowances a
        where a.product_id = g.product_id and a.used + g.quantity > s.unit_limit
          and a.holder = any(array['customer:' || g.customer_id, 'phone:' || g.phone_key]))
    ), eligible as (
      select distinct on (g.product_id, g.customer_id) g.* from given g
      where not exists (select 1 from live l where l.given_id = g.id) and not exists (select 1 from limited l where l.given_id = g.id)
      order by g.product_id, g.customer_id, g.ord
    ), counted as (
      update sales s set issued = s.issued + c.n, updated_at = now(),
        early_upto = case when coalesce(s.opens_at > clock_timestamp(), false) then s.issued + c.n else s.early_upto end
      from (select product_id, count(*) as n from eligible group by product_id) c
      where s.product_id = c.product_id
      returning s.product_id, s.issued - c.n as base, s.early_upto = s.issued as early, s.queue_order
    ), inserted as (
      insert into queue_tickets (id, product_id, reservation_id, seq, position, customer_id, phone_key, quantity, fulfilment,
                                 name, phone, district, latitude, longitude, alive_until)
      select e.id, e.product_id, e.reservation_id, c.base + e.k,
        case when c.early and c.queue_order = 'LOTTERY' then null else c.base + e.k end,
        e.customer_id, e.phone_key, e.quantity, e.fulfilment, e.name, e.phone, e.district, e.latitude, e.longitude,
        now() + e.lease_ms * interval '1 millisecond'
      from (select *, row_number() over (partition by product_id order by ord) as k from eligible) e join counted c using (product_id)
      on conflict do nothing
      returning id, seq, position, alive_until, joined_at
    )
    select g.id, i.id is not null as issued, i.seq, i.position, i.alive_until, i.joined_at, l.ticket_id as existing, l.alive as existing_alive, l.own as existing_own,
      m.given_id is not null as limited, e.id as first
    from given g left join live l on l.given_id = g.id left join inserted i on i.id = g.id
      left join limited m on m.given_id = g.id
      left join eligible e on e.product_id = g.product_id and e.customer_id = g.customer_id
    order by g.ord`;
}

function resultOf(r: JoinRow, j: Join): JoinResult {
  if (r.issued) return { outcome: 'ISSUED', ticket: issuedTicket(r, j) };
  if (r.existing) {
    return r.existing_alive || !r.existing_own ? { outcome: 'ALREADY_QUEUED', ticketId: r.existing, own: r.existing_own === true } : { outcome: 'LAPSED_TICKET', ticketId: r.existing };
  }
  if (r.limited) return { outcome: 'LIMIT_REACHED' };
  // Beaten by the same customer's other join in this group: that one is their ticket.
  if (r.first && r.first !== r.id) return { outcome: 'ALREADY_QUEUED', ticketId: r.first, own: true };
  return { outcome: 'RETRY' };
}

/** The row a join inserted, as `findTicket` would read it. */
function issuedTicket(r: JoinRow, j: Join): QueueTicket {
  return {
    id: j.id,
    product_id: j.productId,
    reservation_id: j.reservationId,
    seq: r.seq!,
    position: r.position,
    customer_id: j.customerId,
    phone_key: j.phoneKey,
    quantity: j.quantity,
    fulfilment: j.fulfilment,
    name: j.name,
    phone: j.phone,
    district: j.district,
    latitude: j.latitude,
    longitude: j.longitude,
    state: 'WAITING',
    refusal: null,
    alive_until: r.alive_until!,
    joined_at: r.joined_at!,
    admitted_at: null,
    ended_at: null,
    updated_at: r.joined_at!,
  };
}

/** Ends a ticket nobody kept alive, if it is still waiting (it would lapse when its turn came). */
export async function endLapsedTicket(db: Db, ticketId: string): Promise<void> {
  await db
    .updateTable('queue_tickets')
    .set({ state: 'LAPSED', ended_at: sql`now()`, updated_at: sql`now()` })
    .where('id', '=', ticketId)
    .where('state', '=', 'WAITING')
    .where('alive_until', '<=', sql<Date>`now()`)
    .execute();
}

export async function findTicket(db: Db, id: string): Promise<QueueTicket | undefined> {
  return db.selectFrom('queue_tickets').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Tickets by id, in the order asked (undefined where there is none): many pages' asks in one read. */
export async function findTickets(db: Db, ids: string[]): Promise<(QueueTicket | undefined)[]> {
  const rows = await db.selectFrom('queue_tickets').selectAll().where('id', '=', sql<string>`any(${ids}::text[])`).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id));
}

export async function findTicketOfReservation(db: Db, reservationId: string): Promise<QueueTicket | undefined> {
  return db.selectFrom('queue_tickets').selectAll().where('reservation_id', '=', reservationId).executeTakeFirst();
}

/** A customer's tickets that have not ended, oldest first. */
export async function liveTicketsOf(db: Db, customerId: string): Promise<QueueTicket[]> {
  return db.selectFrom('queue_tickets').selectAll().where('customer_id', '=', customerId).where('ended_at', 'is', null).orderBy('joined_at').execute();
}

/** A customer's tickets, newest first (the page shows the recent ones, ended included). */
export async function recentTicketsOf(db: Db, customerId: string, limit: number): Promise<QueueTicket[]> {
  return db.selectFrom('queue_tickets').selectAll().where('customer_id', '=', customerId).orderBy('joined_at', 'desc').limit(limit).execute();
}

/**
 * A lease renewal its holder asked for `firstAskedMsAgo` ms ago (by polling, or with an open event
 * stream) and, while it was not yet written, again since: the last time `lastAskedMsAgo` ms ago.
 */
export interface Renewal {
  id: string;
  firstAskedMsAgo: number;
  lastAskedMsAgo: number;
}

/**
 * Keeps waiting tickets alive until `leaseMs` after their holders last asked (one statement for
 * every renewal given), never shortening a lease. A renewal is dated at its asks, not at its
 * writing: one written late (the database was away when it was asked) still counts if the ticket
 * was alive when its holder first asked and has not been passed over since (each later ask came
 * within the lease the one before would have given). Answers the leases of the tickets renewed.
 */
export async function extendLeases(db: Db, renewals: Renewal[], leaseMs: number): Promise<{ id: string; alive_until: Date }[]> {
  if (renewals.length === 0) return [];
  const ago = (ms: number) => Math.max(0, Math.round(ms));
  const { rows } = await sql<{ id: string; alive_until: Date }>`
    update queue_tickets t set alive_until = greatest(t.alive_until, r.last_asked + ${leaseMs}::int * interval '1 millisecond')
    from (
      select id, now() - first_ago * interval '1 millisecond' as first_asked, now() - last_ago * interval '1 millisecond' as last_asked
      from unnest(${renewals.map((r) => r.id)}::text[], ${renewals.map((r) => ago(r.firstAskedMsAgo))}::int[],
                  ${renewals.map((r) => ago(r.lastAskedMsAgo))}::int[]) as u(id, first_ago, last_ago)
    ) r
    where t.id = r.id and t.state = 'WAITING' and t.alive_until > r.first_asked
    returning t.id, t.alive_until`.execute(db);
  return rows;
}

/** The customer leaves the line; true if the ticket was still waiting. */
export async function leaveLine(db: Db, id: string): Promise<boolean> {
  const left = await db
    .updateTable('queue_tickets')
    .set({ state: 'LEFT', ended_at: sql`now()`, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('state', '=', 'WAITING')
    .returning('id')
    .executeTakeFirst();
  return left !== undefined;
}

/** How an admitted ticket's admission ended. */
export type TicketOutcome =
  | { state: 'RESERVED' }
  | { state: 'SOLD_OUT' }
  | { state: 'REFUSED'; refusal: string }
  /** Its units are held by decisions in flight: admitted again at the next step. */
  | { state: 'RETRY' };

export async function settleTicket(db: Db, id: string, outcome: TicketOutcome): Promise<void> {
  const q = db.updateTable('queue_tickets').where('id', '=', id).where('state', '=', 'ADMITTED');
  if (outcome.state === 'RETRY') {
    await q.set({ admitted_at: null, updated_at: sql`now()` }).execute();
    return;
  }
  const state: TicketState = outcome.state;
  await q.set({ state, refusal: outcome.state === 'REFUSED' ? outcome.refusal : null, ended_at: sql`now()`, updated_at: sql`now()` }).execute();
}
