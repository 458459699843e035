/**
 * The tables carry the store names only: migration 0016 drops what 0012 kept of the dealer store's
 * first names for a rollout (a view, mirrored columns, the triggers keeping them equal), and goes
 * down and up again keeping the data.
 */
import { Migrator, sql, type Kysely, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrations } from '../../db/migrations/index.js';
import type { Database } from '../../db/schema.js';
import { assignmentTables, isolatedDatabase } from '../helpers.js';

let isolated: Awaited<ReturnType<typeof isolatedDatabase>>;
beforeAll(async () => {
  isolated = await isolatedDatabase({ seed: false });
});
afterAll(() => isolated?.drop());

const OLD = 'agenc%';

/** What of the old names the database still has, wherever (in any schema of ours). */
async function oldNames(db: Kysely<Database>) {
  const names = async (query: RawBuilder<{ name: string }>) => (await query.execute(db)).rows.map((r) => r.name).sort();
  return {
    relations: await names(sql<{ name: string }>`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relname like ${OLD} and n.nspname not in ('pg_catalog', 'information_schema')`),
    columns: await names(sql<{ name: string }>`select table_name || '.' || column_name as name from information_schema.columns
      where column_name like ${OLD} and table_schema not in ('pg_catalog', 'information_schema')`),
    triggers: await names(sql<{ name: string }>`select tgname as name from pg_trigger where not tgisinternal and tgname like '%old_store_names'`),
    functions: await names(sql<{ name: string }>`select proname as name from pg_proc where proname like '%old_store_names'`),
  };
}

/** The store columns of a table, wherever its schema is. */
async function storeColumns(db: Kysely<Database>, table: string) {
  const { rows } = await sql<{ name: string }>`select column_name as name from information_schema.columns
    where table_name = ${table} and column_name like 'store%' order by column_name`.execute(db);
  return rows.map((r) => r.name);
}

/** A reservation with a store, and its store's slot. */
async function reservationAtStore(db: Kysely<Database>, id: string) {
  await assignmentTables(db).insertInto('assignment.stores').values({ id: 'gangnam-1', name: 'Gangnam', district: 'd', address: 'a', latitude: 37.5, longitude: 127, capacity: 2 }).execute();
  const product = await db.insertInto('products').values({ sku: `sku-${id}`, name: 'Phone', brand: 'b', price_krw: 1, stock: 1 }).returning('id').executeTakeFirstOrThrow();
  await db
    .insertInto('reservations')
    .values({ id, workflow_id: `reservation-${id}`, product_id: product.id, quantity: 1, customer_id: 'c-1', status: 'CONFIRMED', fulfilment: 'PICKUP', version: 2 })
    .execute();
  await db.updateTable('reservations').set({ store_id: 'gangnam-1', store_name: 'Gangnam', store_distance_km: 1.5 }).where('id', '=', id).execute();
  await assignmentTables(db).insertInto('assignment.assignments').values({ reservation_id: id, store_id: 'gangnam-1', status: 'ACTIVE' }).execute();
}

it('has no view, column, trigger or function of the old names: the tables have the store names only', async () => {
  const { db } = isolated;
  expect(await oldNames(db)).toEqual({ relations: [], columns: [], triggers: [], functions: [] });
  expect(await storeColumns(db, 'reservations')).toEqual(['store_address', 'store_distance_km', 'store_id', 'store_name']);
  expect(await storeColumns(db, 'assignments')).toEqual(['store_id']);
});

it('goes down to the shim of 0012 and up again without it, keeping the data', async () => {
  const { db } = isolated;
  await reservationAtStore(db, 'R-1');
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  expect((await migrator.migrateTo('0015_rate_limits_unlogged')).error).toBeUndefined();
  // Down, the shim is back as 0012 made it: the old names mirror the store's.
  const { rows } = await sql<Record<string, unknown>>`
    select r.agency_id, r.agency_name, r.agency_distance_km, g.name, a.agency_id as slot
    from reservations r join agencies g on g.id = r.agency_id join assignments a on a.reservation_id = r.id where r.id = 'R-1'`.execute(db);
  expect(rows).toEqual([{ agency_id: 'gangnam-1', agency_name: 'Gangnam', agency_distance_km: 1.5, name: 'Gangnam', slot: 'gangnam-1' }]);
  expect((await oldNames(db)).triggers).toEqual(['assignments_old_store_names', 'reservations_old_store_names']);

  expect((await migrator.migrateToLatest()).error).toBeUndefined();
  expect(await oldNames(db)).toEqual({ relations: [], columns: [], triggers: [], functions: [] });
  expect(await db.selectFrom('reservations').select(['store_id', 'store_name', 'store_distance_km']).where('id', '=', 'R-1').executeTakeFirst()).toEqual({
    store_id: 'gangnam-1',
    store_name: 'Gangnam',
    store_distance_km: 1.5,
  });
  expect(await assignmentTables(db).selectFrom('assignment.assignments').select('store_id').where('reservation_id', '=', 'R-1').executeTakeFirst()).toEqual({ store_id: 'gangnam-1' });
});
