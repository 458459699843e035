/** The connection pool against a real PostgreSQL: connections dropped (a restart, an operator), timeouts. */
import { sql } from 'kysely';
import { afterAll, expect, inject, it } from 'vitest';
import { createDb } from '../../db/client.js';

const db = createDb(inject('databaseUrl'), { max: 2 });
const admin = createDb(inject('databaseUrl'), { max: 1 });
afterAll(async () => {
  await db.destroy();
  await admin.destroy();
});

it('a connection terminated mid-transaction fails that transaction, not the process', async () => {
  const inTransaction = db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
    // What a PostgreSQL restart does to every backend: "terminating connection due to administrator command".
    await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(admin);
    // The checked-out client hears it while idle in the transaction, before its next statement.
    await new Promise((r) => setTimeout(r, 300));
    await sql`select 1`.execute(trx);
  });
  await expect(inTransaction).rejects.toThrow();
  // The broken client was dropped: the pool serves the next query from a fresh connection.
  const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
  expect(rows).toEqual([{ one: 1 }]);
});

it('every pool has a statement, a lock and an idle-in-transaction timeout', async () => {
  const show = async (name: string) => (await sql<Record<string, string>>`select current_setting(${name}) as v`.execute(db)).rows[0]!.v;
  expect(await show('statement_timeout')).toBe('15s');
  expect(await show('lock_timeout')).toBe('5s');
  expect(await show('idle_in_transaction_session_timeout')).toBe('30s');
  const short = createDb(inject('databaseUrl'), { max: 1, statementTimeoutMs: 200 });
  try {
    await expect(sql`select pg_sleep(2)`.execute(short)).rejects.toThrow(/statement timeout/);
  } finally {
    await short.destroy();
  }
});
