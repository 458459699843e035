/** The reservation read model: rows, contacts (personal data) and the status timeline. */
import { sql } from 'kysely';
import type { ReservationStatus } from '../../shared/contract.js';
import type { Db, Reservation } from '../schema.js';

export interface NewReservationRow {
  id: string;
  workflowId: string;
  productId: number;
  quantity: number;
  customerId: string;
  status: ReservationStatus;
  rejectReason?: string | null;
}

export async function insertReservation(db: Db, r: NewReservationRow): Promise<void> {
  await db
    .insertInto('reservations')
    .values({
      id: r.id,
      workflow_id: r.workflowId,
      product_id: r.productId,
      quantity: r.quantity,
      customer_id: r.customerId,
      status: r.status,
      reject_reason: r.rejectReason ?? null,
      cancel_reason: null,
    })
    .execute();
  await addReservationEvent(db, r.id, r.status, r.rejectReason ?? null);
}

export async function findReservation(db: Db, id: string): Promise<Reservation | undefined> {
  return db.selectFrom('reservations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The reservation as the customer centre shows it: with product name, contact and timeline. */
export async function getReservationView(db: Db, id: string) {
  const row = await db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .leftJoin('reservation_contacts as c', 'c.reservation_id', 'r.id')
    .selectAll('r')
    .select(['p.name as product_name', 'p.sku as product_sku', 'c.district as contact_district'])
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

/** Moves a reservation to `status` once; a repeated call changes nothing. */
export async function setReservationStatus(
  db: Db,
  id: string,
  status: ReservationStatus,
  detail: { cancelReason?: string | null } = {},
): Promise<void> {
  await db
    .updateTable('reservations')
    .set({
      status,
      updated_at: sql`now()`,
      ...(detail.cancelReason !== undefined ? { cancel_reason: detail.cancelReason } : {}),
    })
    .where('id', '=', id)
    .where('status', '<>', status)
    .execute();
  await addReservationEvent(db, id, status, detail.cancelReason ?? null);
}

async function addReservationEvent(db: Db, id: string, status: ReservationStatus, detail: string | null) {
  await db
    .insertInto('reservation_events')
    .values({ reservation_id: id, status, detail })
    .onConflict((oc) => oc.columns(['reservation_id', 'status']).doNothing())
    .execute();
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
