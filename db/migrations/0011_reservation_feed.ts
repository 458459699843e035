import { type Kysely } from 'kysely';

// Frozen in time: the API's event stream reads the reservations changed since its last look.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('reservations_updated_idx').on('reservations').column('updated_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('reservations_updated_idx').execute();
}
