/** Read-only aggregates for the worker's business gauges (computed at each scrape). */
import { sql } from 'kysely';
import type { Db } from '../db/schema.js';

/** Reservations per status in the read model. */
export async function reservationCountsByStatus(db: Db): Promise<{ status: string; count: number }[]> {
  const rows = await db
    .selectFrom('reservations')
    .select(['status', sql<string>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
}

/** Customer notifications written to the outbox and not yet delivered. */
export async function pendingNotificationCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select(sql<string>`count(*)`.as('n'))
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
