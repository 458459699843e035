import { sql, type Kysely } from 'kysely';

// Frozen in time: the write limits' counters are not worth a WAL record and a disk flush per write
// (a launch makes one per customer request). Unlogged, they survive a clean restart and are emptied
// by a crash, after which every customer's window simply starts again.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table rate_limits set unlogged`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table rate_limits set logged`.execute(db);
}
