import { sql, type Kysely } from 'kysely';

// Frozen in time: a sell-out records where the watermark stood (`sold_out_from`): places above it
// that were still waiting are SOLD_OUT, places at or below it had been admitted already (their row
// says how they ended). Without it a copy of a row read just before the sell-out could not tell.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table sales add column sold_out_from bigint not null default 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table sales drop column sold_out_from`.execute(db);
}
