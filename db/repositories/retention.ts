/**
 * Retention: what a reservation keeps once it has ended for a while. Personal data (name, phone,
 * location), free text (cancel reasons, who asked), the notifications sent to the customer, old
 * Idempotency-Keys, store-slot tombstones and lapsed token revocations go; the reservation's
 * status, product, store and times, and the stock ledger, stay for the figures.
 */
import { sql } from 'kysely';
import { TERMINAL_STATUSES } from '../../shared/contract.js';
import type { Db } from '../schema.js';

export interface PurgeCounts {
  reservations: number;
  contacts: number;
  requests: number;
  notifications: number;
  idempotencyKeys: number;
  slotTombstones: number;
  revokedTokens: number;
}

const ENDED = [...TERMINAL_STATUSES];

/** Purges up to `limit` reservations that ended before `cutoff`; a reservation already purged is not counted again. */
export async function purgeEndedReservations(db: Db, cutoff: Date, limit: number): Promise<Omit<PurgeCounts, 'idempotencyKeys' | 'slotTombstones' | 'revokedTokens'>> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string }>`
      select r.id from reservations r
      where r.status in (${sql.join(ENDED)}) and r.updated_at < ${cutoff}
        and (r.cancel_reason is not null
          or exists (select 1 from reservation_contacts c where c.reservation_id = r.id)
          or exists (select 1 from reservation_requests q where q.reservation_id = r.id)
          or exists (select 1 from notifications n where n.reservation_id = r.id and (n.sent_at is not null or n.failed_at is not null))
          or exists (select 1 from reservation_events e where e.reservation_id = r.id and e.status = 'CANCELLED' and e.detail is not null))
      order by r.updated_at
      limit ${limit}
      for update skip locked`.execute(trx);
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return { reservations: 0, contacts: 0, requests: 0, notifications: 0 };
    const contacts = await trx.deleteFrom('reservation_contacts').where('reservation_id', 'in', ids).executeTakeFirst();
    const requests = await trx.deleteFrom('reservation_requests').where('reservation_id', 'in', ids).executeTakeFirst();
    // Settled ones hold what was sent (number and name included). Pending ones stay: the notifier
    // still owes them, and finding no contact now it settles them FAILED, for the next purge.
    const notifications = await trx
      .deleteFrom('notifications')
      .where('reservation_id', 'in', ids)
      .where((w) => w.or([w('sent_at', 'is not', null), w('failed_at', 'is not', null)]))
      .executeTakeFirst();
    await trx.updateTable('reservations').set({ cancel_reason: null }).where('id', 'in', ids).execute();
    await trx.updateTable('reservation_events').set({ detail: null }).where('reservation_id', 'in', ids).where('status', '=', 'CANCELLED').execute();
    return {
      reservations: ids.length,
      contacts: Number(contacts.numDeletedRows),
      requests: Number(requests.numDeletedRows),
      notifications: Number(notifications.numDeletedRows),
    };
  });
}

/** Idempotency-Keys older than `cutoff`: a repeat that late is a new request. */
export async function purgeIdempotencyKeys(db: Db, cutoff: Date): Promise<number> {
  return Number((await db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).executeTakeFirst()).numDeletedRows);
}

/** Released and completed store slots older than `cutoff`: no late call of theirs can still come. */
export async function purgeSlotTombstones(db: Db, cutoff: Date): Promise<number> {
  const done = await db.deleteFrom('assignments').where('status', 'in', ['RELEASED', 'COMPLETED']).where('updated_at', '<', cutoff).executeTakeFirst();
  return Number(done.numDeletedRows);
}

/** Revocations of tokens that have expired anyway. */
export async function purgeLapsedRevocations(db: Db): Promise<number> {
  return Number((await db.deleteFrom('revoked_tokens').where('until', '<', new Date()).executeTakeFirst()).numDeletedRows);
}
