/**
 * The assignment boundary in PostgreSQL (docs/architecture.md): the roles made as the deploy makes
 * them (deploy/postgres/roles.sql, before the migrations as compose runs it, and again after as an
 * administrator may), then migration 0017. The main role is refused the schema `assignment`; the
 * service's role works there and nowhere else; both run twice without changing anything.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb } from '../../db/client.js';
import { up as migration0017 } from '../../db/migrations/0017_assignment_schema.js';
import { prepareDatabase } from '../../db/prepare.js';
import type { Database } from '../../db/schema.js';
import { assignStore, listStores, releaseAssignment } from '../../app/assignment/repository.js';
import type { AssignmentDatabase } from '../../app/assignment/schema.js';
import { openTestDb } from '../helpers.js';

const ROLES_SQL = readFileSync(new URL('../../deploy/postgres/roles.sql', import.meta.url), 'utf8');
// The main role's name differs from the deploy's `tshop`: that is the embedded superuser here.
const APP = { name: `tshop_app_${randomUUID().slice(0, 8)}`, password: randomUUID() };
// The deploy's name: migration 0017 grants to it when it exists.
const SERVICE = { name: 'tshop_assignment', password: randomUUID() };

const database = `t_roles_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let admin: Kysely<Database>;
let owner: Kysely<Database>;
let main: Kysely<Database>;
let service: Kysely<AssignmentDatabase>;

const urlAs = (role: { name: string; password: string } | undefined) => {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${database}`;
  if (role) [url.username, url.password] = [role.name, role.password];
  return url.toString();
};

/** roles.sql as psql would run it with `-v name=value`: each `:'name'` a quoted literal. */
async function runRolesSql() {
  const values: Record<string, string> = {
    owner_role: new URL(inject('databaseUrl')).username,
    app_role: APP.name,
    app_password: APP.password,
    assignment_role: SERVICE.name,
    assignment_password: SERVICE.password,
  };
  const text = ROLES_SQL.replace(/:'(\w+)'/g, (_, name: string) => `'${values[name]!.replaceAll("'", "''")}'`);
  const client = new pg.Client({ connectionString: urlAs(undefined) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

const refusal = (err: unknown) => String((err as Error).message);

beforeAll(async () => {
  admin = await openTestDb();
  await sql.raw(`create database ${database}`).execute(admin);
  // As compose does: the roles on the empty database first, then the migrations (and the demo data).
  await runRolesSql();
  owner = createDb(urlAs(undefined));
  await prepareDatabase(owner, { seed: true });
  main = createDb(urlAs(APP));
  service = createDb<AssignmentDatabase>(urlAs(SERVICE));
});

afterAll(async () => {
  await Promise.all([main?.destroy(), service?.destroy(), owner?.destroy()]);
  await sql.raw(`drop database if exists ${database} with (force)`).execute(admin).catch(() => undefined);
  // Roles are the cluster's: ours go with the database (the service's is left for the next run).
  await sql.raw(`drop role if exists ${APP.name}`).execute(admin).catch(() => undefined);
  await admin?.destroy();
});

function checksOfTheBoundary() {
  it('refuses the main role the assignment schema, and the view the old release read it through', async () => {
    await expect(sql`select id from assignment.stores`.execute(main)).rejects.toThrow(/permission denied/);
    await expect(sql`select reservation_id from assignment.assignments`.execute(main)).rejects.toThrow(/permission denied/);
    await expect(sql`insert into assignment.stores (id, name, district, address, latitude, longitude, capacity) values ('x', 'x', 'x', 'x', 0, 0, 1)`.execute(main)).rejects.toThrow(
      /permission denied/,
    );
    const view = await sql`select to_regclass('public.agencies') is not null as present`.execute(owner);
    if ((view.rows[0] as { present: boolean }).present) {
      await expect(sql`select id from agencies`.execute(main)).rejects.toThrow(/permission denied/);
    }
  });

  it('lets the main role read and write the application tables, those the migrations made after the roles', async () => {
    const sku = `roles-${randomUUID().slice(0, 8)}`;
    const product = await main.insertInto('products').values({ sku, name: 'Phone', brand: 'b', price_krw: 1, stock: 1 }).returning('id').executeTakeFirstOrThrow();
    expect(await main.selectFrom('products').select('sku').where('id', '=', product.id).executeTakeFirst()).toEqual({ sku });
  });

  it("lets the service's role use its own tables, and nothing else", async () => {
    expect((await listStores(service)).length).toBeGreaterThan(20); // the demo stores the seed wrote
    const key = `R${randomUUID().replaceAll('-', '').slice(0, 11).toUpperCase()}`;
    const assigned = await assignStore(service, { reservationId: key, latitude: 37.5, longitude: 127 });
    expect(assigned.outcome).toBe('ASSIGNED');
    expect(await releaseAssignment(service, key)).toEqual({ released: true });
    await expect(sql`select id from reservations`.execute(service)).rejects.toThrow(/permission denied/);
    await expect(sql`select id from products`.execute(service)).rejects.toThrow(/permission denied/);
  });
}

describe('roles made before the migrations (compose)', () => {
  checksOfTheBoundary();
});

describe('migration 0017 and roles.sql run again (an administrator after the migrations)', () => {
  beforeAll(async () => {
    await migration0017(owner);
    await runRolesSql();
    await migration0017(owner);
  });
  checksOfTheBoundary();

  it('moved the tables whole: indexes, constraints and the checks on them', async () => {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'assignment' order by 1`.execute(owner);
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['assignments', 'assignments_pkey', 'assignments_store_idx', 'stores', 'stores_pkey']));
    expect(await sql`select to_regclass('public.stores') as t`.execute(owner).then((r) => r.rows)).toEqual([{ t: null }]);
    // A store's load never above its capacity, still enforced in the new schema.
    const err = await sql`update assignment.stores set active_count = capacity + 1 where id = 'gangnam'`.execute(owner).catch(refusal);
    expect(err).toMatch(/violates check constraint/);
  });
});
