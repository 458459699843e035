/** The reservation read model: rows, contacts (personal data) and the status timeline. */
import { sql } from 'kysely';
import { reservationWorkflowId, type Fulfilment, type ReservationInput, type ReservationStatus } from '../../shared/contract.js';
import type { Db, Reservation } from '../schema.js';

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

/** Inserts a reservation and its first timeline event; with `ifAbsent`, returns false if it exists. */
export async function insertReservation(db: Db, r: NewReservationRow, opts: { ifAbsent?: boolean } = {}): Promise<boolean> {
  const inserted = await db
    .insertInto('reservations')
    .values({
      id: r.id,
      workflow_id: r.workflowId,
      product_id: r.productId,
      quantity: r.quantity,
      customer_id: r.customerId,
      fulfilment: r.fulfilment,
      status: r.status,
      version: r.version,
      reject_reason: r.rejectReason ?? null,
      cancel_reason: null,
    })
    .$if(opts.ifAbsent === true, (q) => q.onConflict((oc) => oc.column('id').doNothing()))
    .returning('id')
    .executeTakeFirst();
  if (!inserted) return false;
  await addReservationEvent(db, r.id, r.status, r.rejectReason ?? null);
  return true;
}

export async function findReservation(db: Db, id: string): Promise<Reservation | undefined> {
  return db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface Transition {
  status: ReservationStatus;
  version: number;
  store?: { agencyId: string; agencyName: string; distanceKm: number | null } | null;
  fulfilment?: Fulfilment;
  holdUntil?: string | null;
  cancelReason?: string | null;
  detail?: string | null;
}

/**
 * Moves the read model to a new state, unless a write with the same or a higher version already
 * landed (a retried or late activity never overwrites newer state). Returns whether it applied.
 */
export async function applyTransition(db: Db, id: string, t: Transition): Promise<boolean> {
  const updated = await db
    .updateTable('reservations')
    .set({
      status: t.status,
      version: t.version,
      updated_at: sql`now()`,
      ...(t.store !== undefined
        ? { agency_id: t.store?.agencyId ?? null, agency_name: t.store?.agencyName ?? null, agency_distance_km: t.store?.distanceKm ?? null }
        : {}),
      ...(t.fulfilment !== undefined ? { fulfilment: t.fulfilment } : {}),
      ...(t.holdUntil !== undefined ? { hold_until: t.holdUntil } : {}),
      ...(t.cancelReason !== undefined ? { cancel_reason: t.cancelReason } : {}),
    })
    .where('id', '=', id)
    .where('version', '<', t.version)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return false;
  await addReservationEvent(db, id, t.status, t.detail ?? t.cancelReason ?? null);
  return true;
}

async function addReservationEvent(db: Db, id: string, status: ReservationStatus, detail: string | null) {
  await db
    .insertInto('reservation_events')
    .values({ reservation_id: id, status, detail })
    .execute();
}

const viewColumns = [
  'p.name as product_name',
  'p.sku as product_sku',
] as const;

/** The reservation as the customer centre shows it: with product, store and timeline. */
export async function getReservationView(db: Db, id: string) {
  const row = await db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .selectAll('r')
    .select(viewColumns)
    .where('r.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const events = await db
    .selectFrom('reservation_events')
    .select(['status', 'detail', 'created_at'])
    .where('reservation_id', '=', id)
    .orderBy('id')
    .execute();
  return { ...row, events };
}

export interface ReservationFilter {
  customerId?: string;
  status?: ReservationStatus;
  productId?: number;
  agencyId?: string;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listReservations(
  db: Db,
  filter: ReservationFilter,
  page: { limit: number; after?: { createdAt: string; id: string } },
) {
  let q = db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .selectAll('r')
    .select(viewColumns)
    .orderBy('r.created_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(page.limit + 1);
  if (filter.customerId !== undefined) q = q.where('r.customer_id', '=', filter.customerId);
  if (filter.status !== undefined) q = q.where('r.status', '=', filter.status);
  if (filter.productId !== undefined) q = q.where('r.product_id', '=', filter.productId);
  if (filter.agencyId !== undefined) q = q.where('r.agency_id', '=', filter.agencyId);
  if (page.after) {
    const { createdAt, id } = page.after;
    q = q.where((eb) => eb(eb.refTuple('r.created_at', 'r.id'), '<', eb.tuple(sql<Date>`${createdAt}::timestamptz`, id)));
  }
  const rows = await q.execute();
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, next: more && last ? { createdAt: last.created_at.toISOString(), id: last.id } : undefined };
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

/** Stores the customer's contact for a reservation id; the first write wins (retries are no-ops). */
export async function saveContact(db: Db, c: ContactRow): Promise<void> {
  await db
    .insertInto('reservation_contacts')
    .values({
      reservation_id: c.reservationId,
      customer_id: c.customerId,
      name: c.name,
      phone: c.phone,
      district: c.district,
      latitude: c.latitude,
      longitude: c.longitude,
    })
    .onConflict((oc) => oc.column('reservation_id').doNothing())
    .execute();
}

export async function findContact(db: Db, reservationId: string) {
  return db.selectFrom('reservation_contacts').selectAll().where('reservation_id', '=', reservationId).executeTakeFirst();
}

export async function findContacts(db: Db, reservationIds: string[]) {
  if (reservationIds.length === 0) return [];
  return db.selectFrom('reservation_contacts').selectAll().where('reservation_id', 'in', reservationIds).execute();
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
