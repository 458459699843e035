/**
 * Migration 0012 (the dealer store is a store): processes of the previous release, still running
 * during a rollout, keep writing and reading under the old names (table agencies, columns
 * agency_*), and each side sees the other's writes; the migration also goes down and up again.
 */
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrations } from '../../db/migrations/index.js';
import { assignmentTables, isolatedDatabase } from '../helpers.js';

let isolated: Awaited<ReturnType<typeof isolatedDatabase>>;
beforeAll(async () => {
  isolated = await isolatedDatabase({ seed: false });
});
afterAll(() => isolated?.drop());

/** A reservation row as the API inserts it (no store yet). */
async function newReservation(id: string) {
  const { db } = isolated;
  const product = await db.insertInto('products').values({ sku: `sku-${id}`, name: 'Phone', brand: 'b', price_krw: 1, stock: 1 }).returning('id').executeTakeFirstOrThrow();
  await db.insertInto('reservations').values({ id, workflow_id: `reservation-${id}`, product_id: product.id, quantity: 1, customer_id: 'c-1', status: 'ACCEPTED', fulfilment: 'PICKUP', version: 1 }).execute();
}

it('keeps the old names readable and writable, each side seeing the other', async () => {
  const { db } = isolated;
  // The previous release's assignment service: a store and a slot, through the view.
  await sql`insert into agencies (id, name, district, address, latitude, longitude, capacity)
    values ('old-1', 'Old One', 'd', 'a', 37.5, 127, 2) on conflict (id) do nothing`.execute(db);
  await sql`update agencies set active_count = active_count + 1 where id = 'old-1' and active_count < capacity`.execute(db);
  expect(await assignmentTables(db).selectFrom('assignment.stores').select(['id', 'active_count']).where('id', '=', 'old-1').execute()).toEqual([{ id: 'old-1', active_count: 1 }]);
  await assignmentTables(db).insertInto('assignment.stores').values({ id: 'new-1', name: 'New One', district: 'd', address: 'a', latitude: 37.6, longitude: 127.1, capacity: 2 }).execute();

  // The previous release records a store under the old columns; this one reads the new.
  await newReservation('R-OLD');
  await sql`update reservations set agency_id = 'old-1', agency_name = 'Old One', agency_distance_km = 0.5 where id = 'R-OLD'`.execute(db);
  await sql`insert into assignment.assignments (reservation_id, agency_id, status) values ('R-OLD', 'old-1', 'ACTIVE')`.execute(db);
  expect(await db.selectFrom('reservations').select(['store_id', 'store_name', 'store_distance_km']).where('id', '=', 'R-OLD').executeTakeFirst()).toEqual({
    store_id: 'old-1',
    store_name: 'Old One',
    store_distance_km: 0.5,
  });
  expect(await assignmentTables(db).selectFrom('assignment.assignments').select('store_id').where('reservation_id', '=', 'R-OLD').executeTakeFirst()).toEqual({ store_id: 'old-1' });

  // This release moves it to another store (and confirms it); the previous one reads the old columns.
  await db.updateTable('reservations').set({ store_id: 'new-1', store_name: 'New One', store_distance_km: 1.5 }).where('id', '=', 'R-OLD').execute();
  await db.updateTable('reservations').set({ status: 'CONFIRMED' }).where('id', '=', 'R-OLD').execute();
  await assignmentTables(db).updateTable('assignment.assignments').set({ store_id: 'new-1' }).where('reservation_id', '=', 'R-OLD').execute();
  const { rows } = await sql<Record<string, unknown>>`
    select r.agency_id, r.agency_name, r.agency_distance_km, g.address, a.agency_id as slot
    from reservations r left join agencies g on g.id = r.agency_id left join assignment.assignments a on a.reservation_id = r.id
    where r.id = 'R-OLD'`.execute(db);
  expect(rows).toEqual([{ agency_id: 'new-1', agency_name: 'New One', agency_distance_km: 1.5, address: 'a', slot: 'new-1' }]);
});

it('goes down to the old names and up again, keeping the data', async () => {
  const { db } = isolated;
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  expect((await migrator.migrateTo('0011_reservation_feed')).error).toBeUndefined();
  const { rows } = await sql<Record<string, unknown>>`
    select r.agency_id, g.name, a.agency_id as slot, (select relkind from pg_class where relname = 'agencies') as kind
    from reservations r join agencies g on g.id = r.agency_id join assignments a on a.reservation_id = r.id where r.id = 'R-OLD'`.execute(db);
  expect(rows).toEqual([{ agency_id: 'new-1', name: 'New One', slot: 'new-1', kind: 'r' }]);
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  expect(await db.selectFrom('reservations').select(['store_id', 'store_name']).where('id', '=', 'R-OLD').executeTakeFirst()).toEqual({ store_id: 'new-1', store_name: 'New One' });
});
