import { sql, type Kysely } from 'kysely';

// Frozen in time: the dealer store is called a store everywhere. Table agencies → stores, the
// agency_* columns of reservations and assignments → store_*, and the constraints and indexes
// named after them.

const COLUMNS = [
  ['reservations', 'agency_id', 'store_id'],
  ['reservations', 'agency_name', 'store_name'],
  ['reservations', 'agency_distance_km', 'store_distance_km'],
  ['assignments', 'agency_id', 'store_id'],
] as const;

const INDEXES = [
  ['reservations_agency_idx', 'reservations_store_idx'],
  ['assignments_agency_idx', 'assignments_store_idx'],
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('agencies').renameTo('stores').execute();
  // Every constraint PostgreSQL named after the table (the key, checks, and from 18 on, not-nulls).
  await renameConstraints(db, 'stores', 'agencies_', 'stores_');
  await renameConstraints(db, 'assignments', 'assignments_agency_', 'assignments_store_');
  for (const [table, from, to] of COLUMNS) await db.schema.alterTable(table).renameColumn(from, to).execute();
  for (const [from, to] of INDEXES) await renameIndex(db, from, to);
  await keepOldNames(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropOldNames(db);
  for (const [from, to] of INDEXES) await renameIndex(db, to, from);
  for (const [table, from, to] of COLUMNS) await db.schema.alterTable(table).renameColumn(to, from).execute();
  await renameConstraints(db, 'assignments', 'assignments_store_', 'assignments_agency_');
  await renameConstraints(db, 'stores', 'stores_', 'agencies_');
  await db.schema.alterTable('stores').renameTo('agencies').execute();
}

async function renameConstraints(db: Kysely<any>, table: string, from: string, to: string) {
  const { rows } = await sql<{ name: string }>`
    select conname as name from pg_constraint where conrelid = ${table}::regclass and starts_with(conname, ${from})`.execute(db);
  for (const { name } of rows) {
    await sql`alter table ${sql.table(table)} rename constraint ${sql.id(name)} to ${sql.id(to + name.slice(from.length))}`.execute(db);
  }
}

async function renameIndex(db: Kysely<any>, from: string, to: string) {
  await sql`alter index ${sql.id(from)} rename to ${sql.id(to)}`.execute(db);
}

/**
 * The previous release's processes keep running during the rollout and use the old names: until
 * the next release drops them, the old names stay readable and writable for them. A view
 * `agencies` over `stores`; the old columns as copies that a trigger keeps equal to the new ones
 * (a write of the new names is copied to the old; one of only the old names, to the new).
 */
async function keepOldNames(db: Kysely<any>) {
  await sql`create view agencies as select * from stores`.execute(db);

  await sql`alter table reservations add column agency_id text, add column agency_name text, add column agency_distance_km double precision`.execute(db);
  await sql`update reservations set agency_id = store_id, agency_name = store_name, agency_distance_km = store_distance_km
    where store_id is not null`.execute(db);
  await sql`create function reservations_old_store_names() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        if new.store_id is null then
          new.store_id := new.agency_id; new.store_name := new.agency_name; new.store_distance_km := new.agency_distance_km;
        end if;
      elsif (new.agency_id, new.agency_name, new.agency_distance_km) is distinct from (old.agency_id, old.agency_name, old.agency_distance_km) then
        new.store_id := new.agency_id; new.store_name := new.agency_name; new.store_distance_km := new.agency_distance_km;
      end if;
      new.agency_id := new.store_id; new.agency_name := new.store_name; new.agency_distance_km := new.store_distance_km;
      return new;
    end $$`.execute(db);
  await sql`create trigger reservations_old_store_names
    before insert or update of store_id, store_name, store_distance_km, agency_id, agency_name, agency_distance_km on reservations
    for each row execute function reservations_old_store_names()`.execute(db);

  await sql`alter table assignments add column agency_id text`.execute(db);
  await sql`update assignments set agency_id = store_id where store_id is not null`.execute(db);
  await sql`create function assignments_old_store_names() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        new.store_id := coalesce(new.store_id, new.agency_id);
      elsif new.agency_id is distinct from old.agency_id then
        new.store_id := new.agency_id;
      end if;
      new.agency_id := new.store_id;
      return new;
    end $$`.execute(db);
  await sql`create trigger assignments_old_store_names before insert or update of store_id, agency_id on assignments
    for each row execute function assignments_old_store_names()`.execute(db);
}

async function dropOldNames(db: Kysely<any>) {
  for (const table of ['reservations', 'assignments']) {
    await sql`drop trigger ${sql.id(`${table}_old_store_names`)} on ${sql.table(table)}`.execute(db);
    await sql`drop function ${sql.id(`${table}_old_store_names`)}()`.execute(db);
  }
  await sql`alter table reservations drop column agency_id, drop column agency_name, drop column agency_distance_km`.execute(db);
  await sql`alter table assignments drop column agency_id`.execute(db);
  await sql`drop view agencies`.execute(db);
}
