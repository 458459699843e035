import { sql, type Kysely } from 'kysely';

// Frozen in time: a reservation refused because its product was already sold out when it arrived
// is recorded without starting a workflow, so it has no workflow id.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('reservations').alterColumn('workflow_id', (c) => c.dropNotNull()).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`UPDATE reservations SET workflow_id = 'no-workflow-' || id WHERE workflow_id IS NULL`.execute(db);
  await db.schema.alterTable('reservations').alterColumn('workflow_id', (c) => c.setNotNull()).execute();
}
