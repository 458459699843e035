/** The connection pool against a real PostgreSQL that drops connections (a restart, an operator). */
import { sql } from 'kysely';
import { afterAll, expect, inject, it } from 'vitest';
import { createDb } from '../db/client.js';

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
