import { sql, type Kysely } from 'kysely';

// Frozen in time: every pending notification is the notifier's drain's (0018 wakes it), so the
// column that said whether a reservation's workflow or the drain would deliver a row goes.
// Down puts it back as 0010 made it, every row the drain's.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('deliverer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('notifications')
    .addColumn('deliverer', 'text', (c) => c.notNull().defaultTo('drain').check(sql`deliverer in ('workflow', 'drain')`))
    .execute();
}
