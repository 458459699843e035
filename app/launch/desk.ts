/** What the launch desk watches: each product's units and reservations, each store's load (the assignment service's). */
import { sql } from 'kysely';
import type { ReservationStatus } from '../reservation/contract.js';
import type { Db } from '../../db/schema.js';
import { AssignmentServiceUnavailable, type AssignmentClient } from '../assignment/client.js';

export interface ProductFigures {
  id: number;
  name: string;
  stock: number;
  claimed: number;
  /** Reservations accepted in the last minute. */
  perMinute: number;
  counts: Partial<Record<ReservationStatus, number>>;
}

/** Every product with its units left, its accepted reservations of the last minute and its reservations by status. */
export async function productFigures(db: Db): Promise<ProductFigures[]> {
  const { rows } = await sql<{ id: number; name: string; stock: number; claimed: number; per_minute: number; counts: Record<string, number> | null }>`
    select p.id, p.name, p.stock, p.claimed,
      (select count(*)::int from reservations r
        where r.product_id = p.id and r.created_at > now() - interval '1 minute' and r.status <> 'REJECTED') as per_minute,
      (select jsonb_object_agg(status, n) from (
        select r.status, count(*)::int as n from reservations r where r.product_id = p.id group by r.status) s) as counts
    from products p
    order by p.id`.execute(db);
  return rows.map((r) => ({ id: r.id, name: r.name, stock: r.stock, claimed: r.claimed, perMinute: r.per_minute, counts: r.counts ?? {} }));
}

/**
 * Every dealer store (not the central one) with its load, from the assignment service; undefined
 * while it is down (the desk shows the rest).
 */
export async function storeLoads(assignment: AssignmentClient) {
  try {
    const stores = await assignment.listStores();
    return stores.filter((s) => !s.central).sort((a, b) => a.district.localeCompare(b.district) || a.name.localeCompare(b.name));
  } catch (err) {
    if (err instanceof AssignmentServiceUnavailable) return undefined;
    throw err;
  }
}
