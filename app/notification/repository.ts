/**
 * The notification outbox: a row written with each change the customer is told about, in the
 * same statement, holding the facts its message is filled from. The Python notifier's drain
 * (notifier/), woken by each statement that queues rows, renders and sends them.
 */
import { sql } from 'kysely';
import { CENTRAL_STORE, type AssignedStore, type NotificationKind } from '../reservation/contract.js';
import type { Db, Notification } from '../../db/schema.js';

/**
 * What a message is filled from, fixed when it is queued (a later change must not rewrite it).
 * Queued rows outlive a release: once shipped, a renamed key has to be read under both names.
 */
interface NotificationFacts {
  status: string;
  storeId: string | null;
  fulfilment: string;
  productName: string;
  storeName: string | null;
  distanceKm: number | null;
  holdUntil: string | null;
  /** Central delivery from the online store. */
  fallback: boolean;
  /** Why a REJECTED was: sold out, or the decision could not be made. */
  reason: string | null;
}

/** One outbox row: what the customer is to be told about a change. */
export interface OutboxEntry {
  kind: NotificationKind;
  facts: NotificationFacts;
}

export interface ChangeFacts {
  productName: string;
  status: string;
  fulfilment: string;
  store?: (Pick<AssignedStore, 'storeId' | 'storeName'> & { distanceKm?: number | null }) | null;
  holdUntil?: string | null;
  rejectReason?: string | null;
}

export function outboxEntry(kind: NotificationKind, f: ChangeFacts): OutboxEntry {
  const facts: NotificationFacts = {
    status: f.status,
    storeId: f.store?.storeId ?? null,
    fulfilment: f.fulfilment,
    productName: f.productName,
    storeName: f.store?.storeName ?? null,
    distanceKm: f.store?.distanceKm ?? null,
    holdUntil: f.holdUntil ?? null,
    fallback: f.store?.storeId === CENTRAL_STORE.id,
    reason: kind === 'REJECTED' ? (f.rejectReason ?? 'OUT_OF_STOCK') : null,
  };
  return { kind, facts };
}

/** Queues a notification for a reservation (once per kind), its facts read from the read model as it is now. */
export async function queueNotification(db: Db, reservationId: string, kind: NotificationKind): Promise<void> {
  const r = await db
    .selectFrom('reservations as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .select(['r.status', 'r.store_id', 'r.store_name', 'r.store_distance_km', 'r.fulfilment', 'r.hold_until', 'r.reject_reason', 'p.name as product_name'])
    .where('r.id', '=', reservationId)
    .executeTakeFirstOrThrow();
  const entry = outboxEntry(kind, {
    productName: r.product_name,
    status: r.status,
    fulfilment: r.fulfilment,
    store: r.store_id ? { storeId: r.store_id, storeName: r.store_name ?? r.store_id, distanceKm: r.store_distance_km } : null,
    holdUntil: r.hold_until?.toISOString() ?? null,
    rejectReason: r.reject_reason,
  });
  await db
    .insertInto('notifications')
    .values({ reservation_id: reservationId, kind, payload: JSON.stringify(entry.facts) })
    .onConflict((oc) => oc.columns(['reservation_id', 'kind']).doNothing())
    .execute();
}

/** A CTE that queues `entry` for the reservation ids selected by `from` (once per kind); for statements that change the read model. */
export function queueFrom(from: string, entry: OutboxEntry) {
  return sql<Record<string, unknown>>`insert into notifications (reservation_id, kind, payload)
    select id, ${entry.kind}::text, ${JSON.stringify(entry.facts)}::jsonb from ${sql.table(from)}
    on conflict (reservation_id, kind) do nothing`;
}

export async function listNotifications(db: Db, reservationId: string): Promise<Notification[]> {
  return db.selectFrom('notifications').selectAll().where('reservation_id', '=', reservationId).orderBy('id').execute();
}

/** Where a notification is: waiting for the notifier, sent (or recorded by the local sink), or refused for good. */
export function deliveryState(n: Pick<Notification, 'sent_at' | 'failed_at'>): 'QUEUED' | 'SENT' | 'FAILED' {
  return n.sent_at ? 'SENT' : n.failed_at ? 'FAILED' : 'QUEUED';
}
