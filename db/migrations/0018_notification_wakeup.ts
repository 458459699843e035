import { sql, type Kysely } from 'kysely';

// Frozen in time: a statement that queues notifications wakes the notifier's drain, which then
// delivers every pending row (no reservation workflow calls the notifier any longer). One
// notification per statement (not per row), sent at commit; PostgreSQL folds repeats within a
// transaction. The channel's name is the notifier's `outbox.CHANNEL`.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function notifications_queued() returns trigger language plpgsql as $$
    begin
      perform pg_notify('tshop_notifications', '');
      return null;
    end $$`.execute(db);
  await sql`create trigger notifications_queued after insert on notifications
    for each statement execute function notifications_queued()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger notifications_queued on notifications`.execute(db);
  await sql`drop function notifications_queued()`.execute(db);
}
