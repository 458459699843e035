/** Read-only aggregates for the worker's business gauges (computed at each scrape). */
import { sql } from 'kysely';
import type { Db } from '../schema.js';

/** Reservations per status in the read model. */
export async function reservationCountsByStatus(db: Db): Promise<{ status: string; count: number }[]> {
  const rows = await db
    .selectFrom('reservations')
    .select(['status', sql<string>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
}

/** Current stock of every product. */
export async function productStock(db: Db): Promise<{ id: number; sku: string; stock: number }[]> {
  return db.selectFrom('products').select(['id', 'sku', 'stock']).orderBy('id').execute();
}

/** Every store's capacity and its active assignments (the counter the assignment service keeps). */
export async function storeLoad(db: Db): Promise<{ id: string; capacity: number; active: number; open: boolean }[]> {
  const rows = await db.selectFrom('agencies').select(['id', 'capacity', 'active_count', 'is_open']).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, capacity: r.capacity, active: r.active_count, open: r.is_open }));
}

/** Customer notifications written to the outbox and not yet delivered. */
export async function pendingNotificationCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select(sql<string>`count(*)`.as('n'))
    .where('sent_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
