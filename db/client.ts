/** Opening and closing the application's PostgreSQL connection pool. */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Return float8 (coordinates) as numbers; int8 (ledger ids, counts) stays string for precision.
pg.types.setTypeParser(pg.types.builtins.FLOAT8, (v) => Number.parseFloat(v));

export function createDb(connectionString: string, options: { max?: number } = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    application_name: 'tshop-reserve',
  });
  // A client losing its connection (database restart, a terminated backend) must not crash the
  // process: idle ones report it on the pool, checked-out ones (mid-transaction) on themselves,
  // where nothing would listen. The query in flight fails; the pool drops the broken client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Resolves when the database answers a trivial query. */
export async function pingDb(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
