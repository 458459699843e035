/** The reservation read model: rows, contacts (personal data) and the status timeline. */
import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { CENTRAL_STORE, reservationWorkflowId, type AssignedStore, type Fulfilment, type ReservationInput, type ReservationStatus } from './contract.js';
import type { Db, Reservation } from '../../db/schema.js';
import { queueFrom, type OutboxEntry } from '../notification/repository.js';

export interface NewReservationRow {
  id: string;
  workflowId: string | null;
  productId: number;
  quantity: number;
  customerId: string;
  fulfilment: Fulfilment;
  status: ReservationStatus;
  version: number;
  rejectReason?: string | null;
}

/** The read-model row of a reservation, from its workflow input (status and reason to be added). */
export function readModelRow(input: ReservationInput, version: number) {
  return {
    id: input.reservationId,
    workflowId: reservationWorkflowId(input.reservationId) as string | null,
    productId: input.productId,
    quantity: input.quantity,
    customerId: input.customerId,
    fulfilment: input.fulfilment,
    version,
  };
}

/** Inserts a reservation with its first timeline event and, in the same statement, the customer's notification (if any). */
export async function insertReservation(db: Db, r: NewReservationRow, notification: OutboxEntry | undefined): Promise<void> {
  await sql`
    with r as (
      insert into reservations (id, workflow_id, product_id, quantity, customer_id, fulfilment, status, version, reject_reason)
      values (${r.id}, ${r.workflowId}, ${r.productId}, ${r.quantity}, ${r.customerId}, ${r.fulfilment}, ${r.status}, ${r.version}, ${r.rejectReason ?? null})
      returning id
    ), e as (
      insert into reservation_events (reservation_id, status, detail) select id, ${r.status}::text, ${r.rejectReason ?? null}::text from r
    )${notification ? sql`, n as (${queueFrom('r', notification)})` : sql``}
    select 1`.execute(db);
}

/** A reservation refused on arrival (sold out), with what is written beside it. */
export interface Refusal {
  row: NewReservationRow;
  contact: ContactRow;
  notification: OutboxEntry;
}

/**
 * Records refused reservations, each with its timeline event, contact and notification, in one
 * statement however many there are. A customer is refused (and told) a sold-out product once: a
 * repeat records nothing and is answered with the first refusal's id. Returns, per refusal, the
 * reservation that stands for it.
 */
export async function insertRefusals(db: Db, refusals: Refusal[]): Promise<string[]> {
  const column = <T>(pick: (r: Refusal) => T) => refusals.map(pick);
  const { rows } = await sql<{ id: string; stands_for: string | null }>`
    with given as (
      select * from unnest(
        ${column((r) => r.row.id)}::text[], ${column((r) => r.row.workflowId)}::text[], ${column((r) => r.row.productId)}::int[],
        ${column((r) => r.row.quantity)}::int[], ${column((r) => r.row.customerId)}::text[], ${column((r) => r.row.fulfilment)}::text[],
        ${column((r) => r.row.status)}::text[], ${column((r) => r.row.version)}::int[], ${column((r) => r.row.rejectReason ?? null)}::text[],
        ${column((r) => r.contact.name)}::text[], ${column((r) => r.contact.phone)}::text[], ${column((r) => r.contact.district)}::text[],
        ${column((r) => r.contact.latitude)}::float8[], ${column((r) => r.contact.longitude)}::float8[],
        ${column((r) => r.notification.kind)}::text[], ${column((r) => JSON.stringify(r.notification.facts))}::jsonb[]
      ) as g(id, workflow_id, product_id, quantity, customer_id, fulfilment, status, version, reject_reason,
             name, phone, district, latitude, longitude, kind, payload)
    ), chosen as (
      select distinct on (customer_id, product_id) customer_id, product_id, id from given order by customer_id, product_id, id
    ), first as (
      insert into sold_out_refusals (customer_id, product_id, reservation_id)
      select customer_id, product_id, id from chosen
      on conflict do nothing
      returning reservation_id as id
    ), r as (
      insert into reservations (id, workflow_id, product_id, quantity, customer_id, fulfilment, status, version, reject_reason)
      select id, workflow_id, product_id, quantity, customer_id, fulfilment, status, version, reject_reason from given join first using (id)
      on conflict (id) do nothing
      returning id
    ), e as (
      insert into reservation_events (reservation_id, status, detail)
      select g.id, g.status, g.reject_reason from given g join r using (id)
    ), c as (
      insert into reservation_contacts (reservation_id, customer_id, name, phone, district, latitude, longitude)
      select g.id, g.customer_id, g.name, g.phone, g.district, g.latitude, g.longitude from given g join r using (id)
      on conflict (reservation_id) do nothing
    ), n as (
      insert into notifications (reservation_id, kind, payload)
      select g.id, g.kind, g.payload from given g join r using (id)
      on conflict (reservation_id, kind) do nothing
    )
    select g.id, coalesce(f.id, s.reservation_id) as stands_for from given g
    join chosen c on c.customer_id = g.customer_id and c.product_id = g.product_id
    left join first f on f.id = c.id
    left join sold_out_refusals s on s.customer_id = g.customer_id and s.product_id = g.product_id`.execute(db);
  const standsFor = new Map(rows.map((r) => [r.id, r.stands_for ?? r.id]));
  return refusals.map((r) => standsFor.get(r.row.id) ?? r.row.id);
}

/**
 * Whether this is the first time the customer is refused the product as sold out (recording it so);
 * a later refusal is recorded without telling them again.
 */
export async function firstSoldOutRefusal(db: Db, r: { customerId: string; productId: number; reservationId: string }): Promise<boolean> {
  const row = await db
    .insertInto('sold_out_refusals')
    .values({ customer_id: r.customerId, product_id: r.productId, reservation_id: r.reservationId })
    .onConflict((oc) => oc.doNothing())
    .returning('reservation_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findReservation(db: Db, id: string): Promise<Reservation | undefined> {
  return db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface Transition {
  status: ReservationStatus;
  version: number;
  /** As the workflow passes it. */
  store?: Pick<AssignedStore, 'storeId' | 'storeName' | 'distanceKm'> | null;
  /** The store's address as the assignment service gave it (the central store's is known here). */
  storeAddress?: string | null;
  fulfilment?: Fulfilment;
  holdUntil?: string | null;
  cancelReason?: string | null;
  detail?: string | null;
}

/** The address recorded with a store: as given, the central store's own, or none. */
function addressOf(t: Transition): string | null {
  if (!t.store) return null;
  return t.storeAddress ?? (t.store.storeId === CENTRAL_STORE.id ? CENTRAL_STORE.address : null);
}

/** The reason given with the latest cancel request made through the API (null if none). */
function latestCancelReason(id: string) {
  return sql`(select q.reason from reservation_requests q where q.reservation_id = ${id} and q.action = 'cancel' order by q.id desc limit 1)`;
}

/** Records who asked for a cancel or a hand-over (and why), before the signal that carries neither. */
export async function recordRequest(db: Db, r: { reservationId: string; action: 'cancel' | 'complete'; by: string; reason?: string | null }): Promise<void> {
  await db.insertInto('reservation_requests').values({ reservation_id: r.reservationId, action: r.action, requested_by: r.by, reason: r.reason ?? null }).execute();
}

/**
 * Moves the read model to a new state, with its timeline event and (when given) the customer's
 * notification, in one statement, unless a write with the same or a higher version already landed
 * (a retried or late activity never overwrites newer state). Returns whether it applied.
 */
export async function applyTransition(db: Db, id: string, t: Transition, notification?: OutboxEntry): Promise<boolean> {
  const row = await db
    .with('u', (q) =>
      q
        .updateTable('reservations')
        .set({
          status: t.status,
          version: t.version,
          updated_at: sql`now()`,
          ...(t.store !== undefined
            ? { store_id: t.store?.storeId ?? null, store_name: t.store?.storeName ?? null, store_distance_km: t.store?.distanceKm ?? null, store_address: addressOf(t) }
            : {}),
          ...(t.fulfilment !== undefined ? { fulfilment: t.fulfilment } : {}),
          ...(t.holdUntil !== undefined ? { hold_until: t.holdUntil } : {}),
          // The API keeps a customer's reason out of the signal: the latest request's reason is the one.
          ...(t.cancelReason !== undefined ? { cancel_reason: sql<string | null>`coalesce(${t.cancelReason}::text, ${latestCancelReason(id)})` } : {}),
        })
        .where('id', '=', id)
        .where('version', '<', t.version)
        .returning(['id', 'cancel_reason']),
    )
    // (Raw CTE bodies need their own parentheses.)
    .with(
      'e',
      () =>
        sql`(insert into reservation_events (reservation_id, status, detail)
          select id, ${t.status}::text, coalesce(${t.detail ?? t.cancelReason ?? null}::text, ${t.status === 'CANCELLED' ? sql`cancel_reason` : sql`null`}) from u)`,
    )
    .with('n', () => sql<Record<string, unknown>>`(${notification ? queueFrom('u', notification) : sql`select 1`})`)
    .selectFrom('u')
    .select(sql<number>`count(*)::int`.as('applied'))
    .executeTakeFirstOrThrow();
  return row.applied > 0;
}

const viewColumns = [
  'p.name as product_name',
  'p.sku as product_sku',
] as const;

/** The reservation as the customer centre shows it: with product, store and timeline (one query). */
export async function getReservationView(db: Db, id: string) {
  const row = await db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .selectAll('r')
    .select(viewColumns)
    .select((eb) =>
      jsonArrayFrom(eb.selectFrom('reservation_events as e').select(['e.status', 'e.detail', 'e.created_at']).whereRef('e.reservation_id', '=', 'r.id').orderBy('e.id')).as('events'),
    )
    .where('r.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  // JSON carries the timestamps as text.
  return { ...row, events: row.events.map((e) => ({ ...e, created_at: new Date(e.created_at) })) };
}

export interface ReservationFilter {
  customerId?: string;
  status?: ReservationStatus;
  productId?: number;
  storeId?: string;
}

/** Newest first, keyset-paginated on (created_at, id). */
/** Newest first, keyset-paginated on (created_at, id). */
export async function listReservations(
  db: Db,
  filter: ReservationFilter,
  page: { limit: number; after?: PagePosition },
) {
  let q = db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .selectAll('r')
    .select(viewColumns)
    .select(sql<string>`(extract(epoch from r.created_at) * 1000000)::bigint::text`.as('created_micros'))
    .orderBy('r.created_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(page.limit + 1);
  if (filter.customerId !== undefined) q = q.where('r.customer_id', '=', filter.customerId);
  if (filter.status !== undefined) q = q.where('r.status', '=', filter.status);
  if (filter.productId !== undefined) q = q.where('r.product_id', '=', filter.productId);
  if (filter.storeId !== undefined) q = q.where('r.store_id', '=', filter.storeId);
  if (page.after) {
    const { createdMicros, id } = page.after;
    const at = sql<Date>`timestamptz 'epoch' + ${createdMicros}::bigint * interval '1 microsecond'`;
    q = q.where((eb) => eb(eb.refTuple('r.created_at', 'r.id'), '<', eb.tuple(at, id)));
  }
  const rows = await q.execute();
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, next: more && last ? { createdMicros: last.created_micros, id: last.id } : undefined };
}

/** Where a page ends: the last reservation's creation time, to the microsecond PostgreSQL keeps, and id. */
export interface PagePosition {
  createdMicros: string;
  id: string;
}

export interface ContactRow {
  reservationId: string;
  customerId: string;
  name: string | null;
  phone: string | null;
  district: string | null;
  latitude: number | null;
  longitude: number | null;
}

/** A CTE that stores the contact for the reservation ids selected by `from` (the first write wins). */
export function contactFrom(from: string, c: ContactRow) {
  return sql`insert into reservation_contacts (reservation_id, customer_id, name, phone, district, latitude, longitude)
    select id, ${c.customerId}::text, ${c.name}::text, ${c.phone}::text, ${c.district}::text, ${c.latitude}::float8, ${c.longitude}::float8
    from ${sql.table(from)} on conflict (reservation_id) do nothing`;
}

/** Where the customer of a reservation is, and what they reserved: what finding a store and telling them about it take. */
export async function findWhereAndWhat(db: Db, reservationId: string) {
  return db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .leftJoin('reservation_contacts as c', 'c.reservation_id', 'r.id')
    .select(['c.latitude', 'c.longitude', 'p.name as product_name'])
    .where('r.id', '=', reservationId)
    .executeTakeFirst();
}

/** Where a customer last reserved from: the default location of a reservation that names none. */
export async function lastKnownLocation(db: Db, customerId: string) {
  return db
    .selectFrom('reservation_contacts')
    .select(['district', 'latitude', 'longitude', 'name', 'phone'])
    .where('customer_id', '=', customerId)
    .where('latitude', 'is not', null)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
