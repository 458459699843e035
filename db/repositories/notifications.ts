/** The notification outbox: rows written with state changes, delivered and marked by an activity. */
import { sql } from 'kysely';
import type { NotificationKind } from '../../shared/contract.js';
import { notificationText } from '../../shared/messages.js';
import type { Db, Notification } from '../schema.js';

/** Queues a notification for a reservation (once per kind), composed from the read model. */
export async function queueNotification(db: Db, reservationId: string, kind: NotificationKind): Promise<void> {
  const r = await db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .select(['r.id', 'r.status', 'r.agency_id', 'r.agency_name', 'r.fulfilment', 'r.hold_until', 'p.name as product_name'])
    .where('r.id', '=', reservationId)
    .executeTakeFirstOrThrow();
  const text = notificationText(kind, {
    reservationId,
    productName: r.product_name,
    storeName: r.agency_name,
    fallback: r.agency_id === 'central-online',
    holdUntil: r.hold_until?.toISOString() ?? null,
  });
  await db
    .insertInto('notifications')
    .values({
      reservation_id: reservationId,
      kind,
      message_ko: text.ko,
      message_en: text.en,
      payload: JSON.stringify({ status: r.status, agencyId: r.agency_id, fulfilment: r.fulfilment }),
    })
    .onConflict((oc) => oc.columns(['reservation_id', 'kind']).doNothing())
    .execute();
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
