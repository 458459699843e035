/** The notification outbox: rows written with state changes, delivered and marked by an activity. */
import { sql } from 'kysely';
import { CENTRAL_STORE, type NotificationKind } from '../../shared/contract.js';
import { notificationText } from '../../shared/messages.js';
import type { Db, Notification } from '../schema.js';

/** One outbox row: what the customer is told about a change, composed from the change's facts. */
export interface OutboxEntry {
  kind: NotificationKind;
  message: { ko: string; en: string };
  /** Delivered with the message: the state it announces. */
  payload: { status: string; agencyId: string | null; fulfilment: string };
}

export interface ChangeFacts {
  reservationId: string;
  productName: string;
  status: string;
  fulfilment: string;
  store?: { agencyId: string; agencyName: string } | null;
  holdUntil?: string | null;
  rejectReason?: string | null;
}

export function outboxEntry(kind: NotificationKind, f: ChangeFacts): OutboxEntry {
  const message = notificationText(kind, {
    reservationId: f.reservationId,
    productName: f.productName,
    storeName: f.store?.agencyName ?? null,
    fallback: f.store?.agencyId === CENTRAL_STORE.agencyId,
    holdUntil: f.holdUntil ?? null,
    unavailable: f.rejectReason === 'STOCK_UNAVAILABLE',
  });
  return { kind, message, payload: { status: f.status, agencyId: f.store?.agencyId ?? null, fulfilment: f.fulfilment } };
}

/** Queues a notification for a reservation (once per kind), composed from the read model as it is now. */
export async function queueNotification(db: Db, reservationId: string, kind: NotificationKind): Promise<void> {
  const r = await db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .select(['r.status', 'r.agency_id', 'r.agency_name', 'r.fulfilment', 'r.hold_until', 'p.name as product_name'])
    .where('r.id', '=', reservationId)
    .executeTakeFirstOrThrow();
  const entry = outboxEntry(kind, {
    reservationId,
    productName: r.product_name,
    status: r.status,
    fulfilment: r.fulfilment,
    store: r.agency_id ? { agencyId: r.agency_id, agencyName: r.agency_name ?? r.agency_id } : null,
    holdUntil: r.hold_until?.toISOString() ?? null,
  });
  await db
    .insertInto('notifications')
    .values({ reservation_id: reservationId, kind, message_ko: entry.message.ko, message_en: entry.message.en, payload: JSON.stringify(entry.payload) })
    .onConflict((oc) => oc.columns(['reservation_id', 'kind']).doNothing())
    .execute();
}

/** A CTE that queues `entry` for the reservation ids selected by `from` (once per kind); for statements that change the read model. */
export function queueFrom(from: string, entry: OutboxEntry) {
  return sql<Record<string, unknown>>`insert into notifications (reservation_id, kind, message_ko, message_en, payload)
    select id, ${entry.kind}::text, ${entry.message.ko}::text, ${entry.message.en}::text, ${JSON.stringify(entry.payload)}::jsonb from ${sql.table(from)}
    on conflict (reservation_id, kind) do nothing`;
}

export async function listNotifications(db: Db, reservationId: string) {
  return db.selectFrom('notifications').selectAll().where('reservation_id', '=', reservationId).orderBy('id').execute();
}

/** Marks notifications delivered, counting the attempt. */
export async function markSent(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('notifications').set({ attempts: sql`attempts + 1`, sent_at: sql`now()` }).where('id', 'in', ids).execute();
}

/** Counts a delivery attempt the receiver refused; the notification stays unsent. */
export async function markRefused(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('notifications').set({ attempts: sql`attempts + 1` }).where('id', 'in', ids).execute();
}

/**
 * Locks (until the transaction ends) the oldest unsent notification of up to `limit` reservations.
 * Replicas skip each other's locked rows, and a reservation's later notifications wait until its
 * earlier ones are sent, so each customer hears of their changes in order.
 */
export async function lockNextUnsent(trx: Db, limit: number): Promise<Notification[]> {
  return trx
    .selectFrom('notifications as n')
    .selectAll('n')
    .where('n.sent_at', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('notifications as e')
            .select('e.id')
            .whereRef('e.reservation_id', '=', 'n.reservation_id')
            .where('e.sent_at', 'is', null)
            .whereRef('e.id', '<', 'n.id'),
        ),
      ),
    )
    .orderBy('n.id')
    .limit(limit)
    .forUpdate('n')
    .skipLocked()
    .execute();
}
