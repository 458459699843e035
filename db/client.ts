/** Opening and closing the application's PostgreSQL connection pool. */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// Return float8 (coordinates) as numbers; int8 (ledger ids, counts) stays string for precision.
pg.types.setTypeParser(pg.types.builtins.FLOAT8, (v) => Number.parseFloat(v));

export interface PoolOptions {
  max?: number;
  /** A statement running longer is cancelled (0: no limit, for migrations and offline checks). */
  statementTimeoutMs?: number;
  /** A statement waiting longer for a lock fails instead of queueing behind it. */
  lockTimeoutMs?: number;
  /** A session left idle inside a transaction this long is ended, releasing its locks. */
  idleInTransactionMs?: number;
}

/**
 * Every request path is short: a statement that runs for seconds or waits on a lock is a fault to
 * surface (and retry), never something to queue a launch's worth of customers behind.
 */
const POOL_TIMEOUTS = { statementTimeoutMs: 15_000, lockTimeoutMs: 5_000, idleInTransactionMs: 30_000 } as const;

/** A pool typed for the main application's tables unless told (the assignment service passes its own). */
export function createDb<T = Database>(connectionString: string, options: PoolOptions = {}): Kysely<T> {
  const t = { ...POOL_TIMEOUTS, ...options };
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    application_name: 'tshop-reserve',
    statement_timeout: t.statementTimeoutMs,
    lock_timeout: t.lockTimeoutMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
  });
  // A client losing its connection (database restart, a terminated backend) must not crash the
  // process: idle ones report it on the pool, checked-out ones (mid-transaction) on themselves,
  // where nothing would listen. The query in flight fails; the pool drops the broken client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<T>({ dialect: new PostgresDialect({ pool }) });
}

/** Resolves when the database answers a trivial query. */
export async function pingDb(db: Kysely<any>): Promise<void> {
  await sql`select 1`.execute(db);
}
