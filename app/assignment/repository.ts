/** The assignment service's data: stores with their load, and one assignment row per reservation. */
import { sql, type Kysely } from 'kysely';
import { haversineKm, storeScore } from './scoring.js';
import type { AssignmentDatabase, AssignmentDb as Db, Store } from './schema.js';

interface StoreAssignment {
  reservationId: string;
  storeId: string;
  storeName: string;
  storeAddress: string | null;
  distanceKm: number;
}

export type AssignOutcome =
  | { outcome: 'ASSIGNED'; created: boolean; assignment: StoreAssignment }
  | { outcome: 'NO_CAPACITY' }
  | { outcome: 'RELEASED' };

class NoCapacity extends Error {}

/** A store as both APIs show it. */
export function toStoreDto(s: Store) {
  return {
    id: s.id,
    name: s.name,
    district: s.district,
    address: s.address,
    latitude: s.latitude,
    longitude: s.longitude,
    capacity: s.capacity,
    active: s.active_count,
    open: s.is_open,
    central: s.is_central,
  };
}

export async function listStores(db: Db) {
  return db.selectFrom('assignment.stores').selectAll().orderBy('district').orderBy('id').execute();
}

export async function findAssignment(db: Db, reservationId: string) {
  return db
    .selectFrom('assignment.assignments as a')
    .leftJoin('assignment.stores as s', 's.id', 'a.store_id')
    .select(['a.reservation_id', 'a.store_id', 'a.status', 'a.distance_km', 's.name as store_name', 's.address as store_address', 'a.created_at', 'a.updated_at'])
    .where('a.reservation_id', '=', reservationId)
    .executeTakeFirst();
}

/**
 * Assigns the best store with free capacity (see `storeScore`), claiming one slot atomically.
 * Idempotent per reservation: a repeat returns the same store; after a release it stays released.
 */
export async function assignStore(
  db: Kysely<AssignmentDatabase>,
  req: { reservationId: string; latitude: number; longitude: number },
): Promise<AssignOutcome> {
  try {
    return await db.transaction().execute(async (trx): Promise<AssignOutcome> => {
      // The row is the per-reservation lock: a concurrent duplicate waits here for this one.
      const placeholder = await trx
        .insertInto('assignment.assignments')
        .values({ reservation_id: req.reservationId, store_id: null, status: 'ACTIVE', distance_km: null })
        .onConflict((oc) => oc.column('reservation_id').doNothing())
        .returning('reservation_id')
        .executeTakeFirst();
      if (!placeholder) {
        const existing = await findAssignment(trx, req.reservationId);
        if (existing?.status === 'ACTIVE' && existing.store_id) {
          return {
            outcome: 'ASSIGNED',
            created: false,
            assignment: {
              reservationId: req.reservationId,
              storeId: existing.store_id,
              storeName: existing.store_name ?? existing.store_id,
              storeAddress: existing.store_address,
              distanceKm: existing.distance_km ?? 0,
            },
          };
        }
        return { outcome: 'RELEASED' };
      }
      const candidates = (
        await trx
          .selectFrom('assignment.stores')
          .selectAll()
          .where('is_open', '=', true)
          .where('is_central', '=', false)
          .whereRef('active_count', '<', 'capacity')
          .execute()
      )
        .map((s) => {
          const distanceKm = haversineKm(req, s);
          return { store: s, distanceKm, score: storeScore(distanceKm, s.active_count, s.capacity) };
        })
        .sort((a, b) => a.score - b.score || a.distanceKm - b.distanceKm);
      for (const c of candidates) {
        const claimed = await trx
          .updateTable('assignment.stores')
          .set({ active_count: sql`active_count + 1` })
          .where('id', '=', c.store.id)
          .where('is_open', '=', true)
          .whereRef('active_count', '<', 'capacity')
          .returning('id')
          .executeTakeFirst();
        if (!claimed) continue; // filled up since we looked
        const distanceKm = Math.round(c.distanceKm * 100) / 100;
        await trx
          .updateTable('assignment.assignments')
          .set({ store_id: c.store.id, distance_km: distanceKm, updated_at: sql`now()` })
          .where('reservation_id', '=', req.reservationId)
          .execute();
        return {
          outcome: 'ASSIGNED',
          created: true,
          assignment: { reservationId: req.reservationId, storeId: c.store.id, storeName: c.store.name, storeAddress: c.store.address, distanceKm },
        };
      }
      throw new NoCapacity(); // rolls the placeholder back
    });
  } catch (err) {
    if (err instanceof NoCapacity) return { outcome: 'NO_CAPACITY' };
    throw err;
  }
}

/** Frees the reservation's slot; leaves a RELEASED tombstone so a late assign cannot claim one. */
export async function releaseAssignment(db: Kysely<AssignmentDatabase>, reservationId: string): Promise<{ released: boolean }> {
  return db.transaction().execute(async (trx) => {
    const tombstone = await trx
      .insertInto('assignment.assignments')
      .values({ reservation_id: reservationId, store_id: null, status: 'RELEASED', distance_km: null })
      .onConflict((oc) => oc.column('reservation_id').doNothing())
      .returning('reservation_id')
      .executeTakeFirst();
    if (tombstone) return { released: false };
    return { released: await endAssignment(trx, reservationId, 'RELEASED') };
  });
}

/** The phone was handed over: frees the slot and marks the assignment COMPLETED. */
export async function completeAssignment(
  db: Kysely<AssignmentDatabase>,
  reservationId: string,
): Promise<'COMPLETED' | 'NOT_FOUND' | 'RELEASED'> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('assignment.assignments')
      .select('status')
      .where('reservation_id', '=', reservationId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return 'NOT_FOUND';
    if (row.status === 'RELEASED') return 'RELEASED';
    await endAssignment(trx, reservationId, 'COMPLETED');
    return 'COMPLETED';
  });
}

async function endAssignment(trx: Db, reservationId: string, status: 'RELEASED' | 'COMPLETED'): Promise<boolean> {
  const row = await trx
    .selectFrom('assignment.assignments')
    .select(['status', 'store_id'])
    .where('reservation_id', '=', reservationId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (row.status !== 'ACTIVE') return false;
  if (row.store_id) {
    await trx.updateTable('assignment.stores').set({ active_count: sql`active_count - 1` }).where('id', '=', row.store_id).execute();
  }
  await trx.updateTable('assignment.assignments').set({ status, updated_at: sql`now()` }).where('reservation_id', '=', reservationId).execute();
  return true;
}

export async function createStore(
  db: Db,
  s: { id: string; name: string; district: string; address: string; latitude: number; longitude: number; capacity: number },
) {
  return db.insertInto('assignment.stores').values(s).onConflict((oc) => oc.column('id').doNothing()).returningAll().executeTakeFirst();
}

/** Opens/closes a store or changes its capacity; never below the reservations it currently holds. */
export async function updateStore(
  db: Db,
  id: string,
  patch: { open?: boolean; capacity?: number },
): Promise<{ outcome: 'UPDATED'; store: Store } | { outcome: 'NOT_FOUND' } | { outcome: 'BELOW_LOAD' }> {
  const updated = await db
    .updateTable('assignment.stores')
    .set({
      ...(patch.open !== undefined ? { is_open: patch.open } : {}),
      ...(patch.capacity !== undefined ? { capacity: patch.capacity } : {}),
    })
    .where('id', '=', id)
    .$if(patch.capacity !== undefined, (q) => q.where('active_count', '<=', patch.capacity!))
    .returningAll()
    .executeTakeFirst();
  if (updated) return { outcome: 'UPDATED', store: updated };
  const exists = await db.selectFrom('assignment.stores').select('id').where('id', '=', id).executeTakeFirst();
  return { outcome: exists ? 'BELOW_LOAD' : 'NOT_FOUND' };
}

/** One store, or undefined. */
export async function findStore(db: Db, id: string) {
  return db.selectFrom('assignment.stores').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * ACTIVE assignments not changed since `before`, by key, from after the key `after` on: the
 * reconciler pages through them and releases those whose reservation has ended.
 */
export async function listActiveAssignments(db: Db, options: { before: Date; after?: string; limit: number }) {
  return db
    .selectFrom('assignment.assignments')
    .select(['reservation_id', 'store_id', 'updated_at'])
    .where('status', '=', 'ACTIVE')
    .where('updated_at', '<', options.before)
    .$if(options.after !== undefined, (q) => q.where('reservation_id', '>', options.after!))
    .orderBy('reservation_id')
    .limit(options.limit)
    .execute();
}

/** Released and completed slots older than `before`: no late call of theirs can still come. */
export async function purgeEndedAssignments(db: Db, before: Date): Promise<number> {
  const done = await db
    .deleteFrom('assignment.assignments')
    .where('status', 'in', ['RELEASED', 'COMPLETED'])
    .where('updated_at', '<', before)
    .executeTakeFirst();
  return Number(done.numDeletedRows);
}
