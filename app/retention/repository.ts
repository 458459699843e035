/**
 * Retention: what a reservation keeps once it has ended for a while. Personal data (name, phone,
 * location), free text (cancel reasons, who asked), the notifications sent to the customer, old
 * Idempotency-Keys, store-slot tombstones and lapsed token revocations go; the reservation's
 * status, product, store and times, and the stock ledger, stay for the figures.
 */
import { sql } from 'kysely';
import { TERMINAL_STATUSES } from '../reservation/contract.js';
import type { Db } from '../../db/schema.js';

export interface PurgeCounts {
  reservations: number;
  contacts: number;
  requests: number;
  notifications: number;
  idempotencyKeys: number;
  slotTombstones: number;
  revokedTokens: number;
  /** Places in line whose contact was purged (the ticket and its place stay: a lottery's record lists it). */
  tickets: number;
  /** The desk's chart samples. */
  samples: number;
}

const ENDED = [...TERMINAL_STATUSES];

/** Purges up to `limit` reservations that ended before `cutoff`; a reservation already purged is not counted again. */
export async function purgeEndedReservations(db: Db, cutoff: Date, limit: number): Promise<Pick<PurgeCounts, 'reservations' | 'contacts' | 'requests' | 'notifications'>> {
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

/** Revocations of tokens that have expired anyway. */
export async function purgeLapsedRevocations(db: Db): Promise<number> {
  return Number((await db.deleteFrom('revoked_tokens').where('until', '<', new Date()).executeTakeFirst()).numDeletedRows);
}

/**
 * The contact of places in line that ended before `cutoff`, or were left to lapse that long ago
 * (they end LAPSED now); up to `limit`. A ticket admitted keeps its contact until its admission ends.
 */
export async function purgeEndedTickets(db: Db, cutoff: Date, limit: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with due as (
      select id from queue_tickets
      where (ended_at < ${cutoff} or (ended_at is null and state = 'WAITING' and alive_until < ${cutoff}))
        and (name is not null or phone is not null or district is not null or latitude is not null)
      limit ${limit}
      for update skip locked
    ), purged as (
      update queue_tickets t set name = null, phone = null, district = null, latitude = null, longitude = null,
        state = case when t.state = 'WAITING' then 'LAPSED' else t.state end, ended_at = coalesce(t.ended_at, now()), updated_at = now()
      from due where t.id = due.id
      returning 1
    )
    select count(*)::int as n from purged`.execute(db);
  return rows[0]?.n ?? 0;
}

/** The desk's chart samples, and the record of whom a sold-out product was refused to, older than `cutoff`. */
export async function purgeLaunchRecords(db: Db, cutoff: Date): Promise<number> {
  await db.deleteFrom('sold_out_refusals').where('created_at', '<', cutoff).execute();
  return Number((await db.deleteFrom('sale_samples').where('at', '<', cutoff).executeTakeFirst()).numDeletedRows);
}
