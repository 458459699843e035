import { sql, type Kysely } from 'kysely';

// Frozen in time: the assignment service owns its tables (docs/architecture.md, "The assignment
// boundary"). `stores` and `assignments` move into the schema `assignment`, with their indexes,
// constraints, triggers and owned sequences (ALTER TABLE … SET SCHEMA carries them all). Nobody
// but the owner and the service's role may use the schema: the table privileges the moved tables
// carried (the main role's, from the deploy's default privileges on public) are taken away, and
// the role `tshop_assignment` (deploy/postgres/roles.sql) is given its own, when it exists. The
// deploy's roles.sql grants the same again, so the order in which the two run does not matter.
// Every step can run twice.

const ASSIGNMENT_ROLE = 'tshop_assignment';
const TABLES = ['stores', 'assignments'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  // The reservation's read model keeps its store's address, as it keeps its name: the customer
  // centre shows it without reading the service's tables (or needing the service up).
  await sql`alter table reservations add column if not exists store_address text`.execute(db);
  if (await tableExists(db, 'public', 'stores')) {
    await sql`update reservations r set store_address = s.address from stores s where s.id = r.store_id and r.store_address is null`.execute(db);
  }
  await sql`create schema if not exists assignment`.execute(db);
  for (const table of TABLES) await sql`alter table if exists public.${sql.id(table)} set schema assignment`.execute(db);
  await sql`revoke all on schema assignment from public`.execute(db);
  await sql`do $$
    declare grant_row record;
    begin
      for grant_row in
        select distinct c.relname, g.grantee::regrole::text as grantee
        from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) g
        where n.nspname = 'assignment' and g.grantee <> 0 and g.grantee <> c.relowner
      loop
        execute format('revoke all on assignment.%I from %s', grant_row.relname, grant_row.grantee);
      end loop;
      revoke all on all tables in schema assignment from public;
      revoke all on all sequences in schema assignment from public;
      if exists (select from pg_roles where rolname = ${sql.lit(ASSIGNMENT_ROLE)}) then
        grant usage on schema assignment to ${sql.id(ASSIGNMENT_ROLE)};
        grant select, insert, update, delete on all tables in schema assignment to ${sql.id(ASSIGNMENT_ROLE)};
        grant usage, select on all sequences in schema assignment to ${sql.id(ASSIGNMENT_ROLE)};
      end if;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) await sql`alter table if exists assignment.${sql.id(table)} set schema public`.execute(db);
  await sql`drop schema if exists assignment`.execute(db);
  await sql`alter table reservations drop column if exists store_address`.execute(db);
}

async function tableExists(db: Kysely<any>, schema: string, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select to_regclass(${`${schema}.${table}`}) is not null as found`.execute(db);
  return rows[0]!.found;
}
