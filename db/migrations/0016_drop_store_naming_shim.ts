import { sql, type Kysely } from 'kysely';

// Frozen in time: the old names 0012_store_naming kept for a rollout from a previous release go.
// No release ran under them (0.1.0 is the first), so nothing reads the view `agencies`, the
// columns agency_* of reservations and assignments, or the triggers that kept those equal to
// store_*. The tables keep only the store names. Down puts them back as 0012 made them.

const TABLES = ['reservations', 'assignments'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await sql`drop trigger ${sql.id(`${table}_old_store_names`)} on ${sql.table(table)}`.execute(db);
    await sql`drop function ${sql.id(`${table}_old_store_names`)}()`.execute(db);
  }
  await sql`alter table reservations drop column agency_id, drop column agency_name, drop column agency_distance_km`.execute(db);
  await sql`alter table assignments drop column agency_id`.execute(db);
  await sql`drop view agencies`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
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
