import { type Kysely } from 'kysely';

// Frozen in time: the notification relay claims a batch of outbox rows for a while (a lease) in a
// short transaction, then calls the webhook outside any transaction; a relay that dies mid-batch
// leaves its rows to be claimed again once the lease ends.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('claimed_until', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('claimed_until').execute();
}
