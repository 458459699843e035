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

export async function unsentNotifications(db: Db, reservationId: string) {
  return db
    .selectFrom('notifications')
    .selectAll()
    .where('reservation_id', '=', reservationId)
    .where('sent_at', 'is', null)
    .orderBy('id')
    .execute();
}

export async function markNotification(db: Db, id: string, outcome: 'SENT' | 'FAILED'): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ attempts: sql`attempts + 1`, ...(outcome === 'SENT' ? { sent_at: sql`now()` } : {}) })
    .where('id', '=', id)
    .execute();
}

/**
 * Locks (until the transaction ends) a batch of unsent notifications of reservations that have no
 * workflow to deliver them: those refused on arrival. Replicas skip each other's locked rows.
 */
export async function lockUnsentWithoutWorkflow(trx: Db, limit: number): Promise<Notification[]> {
  return trx
    .selectFrom('notifications as n')
    .innerJoin('reservations as r', 'r.id', 'n.reservation_id')
    .selectAll('n')
    .where('r.workflow_id', 'is', null)
    .where('n.sent_at', 'is', null)
    .orderBy('n.id')
    .limit(limit)
    .forUpdate('n')
    .skipLocked()
    .execute();
}
