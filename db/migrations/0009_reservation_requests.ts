import { sql, type Kysely } from 'kysely';

// Frozen in time: who asked for a cancel or a hand-over through the API, and why, kept here
// instead of in the signal (and so in workflow history). A cancellation's reason is read from here
// when the workflow records it.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('reservation_requests')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('reservation_id', 'text', (c) => c.notNull().references('reservations.id').onDelete('cascade'))
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('cancel', 'complete')`))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('reservation_requests_reservation_idx').on('reservation_requests').columns(['reservation_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('reservation_requests').execute();
}
