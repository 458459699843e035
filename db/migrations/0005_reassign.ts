import { sql, type Kysely } from 'kysely';

// Frozen in time: a re-driven reservation is CONFIRMED twice (central delivery, then a store), so the
// timeline may repeat a status. Events stay written once: only with a transition that applied.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('reservation_events').dropConstraint('reservation_events_once').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DELETE FROM reservation_events a USING reservation_events b
            WHERE a.reservation_id = b.reservation_id AND a.status = b.status AND a.id > b.id`.execute(db);
  await db.schema.alterTable('reservation_events').addUniqueConstraint('reservation_events_once', ['reservation_id', 'status']).execute();
}
