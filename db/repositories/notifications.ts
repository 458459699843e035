/** The notification outbox: rows written with state changes, claimed, delivered and marked by the relay. */
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
  await db.updateTable('notifications').set({ attempts: sql`attempts + 1`, sent_at: sql`now()`, claimed_until: null }).where('id', 'in', ids).execute();
}

/** Counts a delivery attempt the receiver refused; the notification stays unsent, free for the next claim. */
export async function markRefused(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('notifications').set({ attempts: sql`attempts + 1`, claimed_until: null }).where('id', 'in', ids).execute();
}

/**
 * Claims, for `leaseMs`, the oldest unsent notification of up to `limit` reservations, in one short
 * statement: the relay then calls the webhook outside any transaction. Replicas skip each other's
 * claims (and rows being claimed), and a reservation's later notifications wait until its earlier
 * ones are sent, so each customer hears of their changes in order. A claim whose relay died is
 * taken again once its lease ends.
 */
export async function claimNextUnsent(db: Db, limit: number, leaseMs: number): Promise<Notification[]> {
  const { rows } = await sql<Notification>`
    update notifications set claimed_until = now() + make_interval(secs => ${leaseMs / 1000})
    where id in (
      select n.id from notifications n
      where n.sent_at is null and (n.claimed_until is null or n.claimed_until < now())
        and not exists (select 1 from notifications e where e.reservation_id = n.reservation_id and e.sent_at is null and e.id < n.id)
      order by n.id
      limit ${limit}
      for update skip locked)
    returning *`.execute(db);
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}
