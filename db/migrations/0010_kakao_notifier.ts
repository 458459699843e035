import { sql, type Kysely } from 'kysely';

// Frozen in time: the customer's KakaoTalk messages are sent by the Python notifier
// (notifier/), called by the reservation workflow; rows without a workflow to deliver them
// (refusals at admission, reconciler endings) are left to the notifier's drain. Each row keeps
// the facts its template is filled from (payload), and once settled exactly what was sent (or
// would have been, without a Kakao endpoint): the template, the request and the texts; or why
// it could not be.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('notifications')
    .alterColumn('message_ko', (c) => c.dropNotNull())
    .alterColumn('message_en', (c) => c.dropNotNull())
    .addColumn('deliverer', 'text', (c) => c.notNull().defaultTo('workflow').check(sql`deliverer in ('workflow', 'drain')`))
    .addColumn('template_code', 'text')
    .addColumn('channel', 'text')
    .addColumn('request', 'jsonb')
    .addColumn('failed_at', 'timestamptz')
    .addColumn('error', 'text')
    .execute();
  // The relay that would have sent these is gone: the drain takes them.
  await sql`update notifications set deliverer = 'drain' where sent_at is null`.execute(db);
  await db.schema.dropIndex('notifications_unsent_idx').execute();
  await db.schema.dropIndex('notifications_unsent_order_idx').execute();
  await db.schema
    .createIndex('notifications_pending_idx')
    .on('notifications')
    .columns(['reservation_id', 'id'])
    .where(sql.ref('sent_at'), 'is', null)
    .where(sql.ref('failed_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('notifications_pending_order_idx')
    .on('notifications')
    .column('id')
    .where(sql.ref('sent_at'), 'is', null)
    .where(sql.ref('failed_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('notifications_pending_order_idx').execute();
  await db.schema.dropIndex('notifications_pending_idx').execute();
  await db.schema.createIndex('notifications_unsent_idx').on('notifications').column('reservation_id').where(sql.ref('sent_at'), 'is', null).execute();
  await db.schema.createIndex('notifications_unsent_order_idx').on('notifications').column('id').where(sql.ref('sent_at'), 'is', null).execute();
  await sql`update notifications set message_ko = coalesce(message_ko, ''), message_en = coalesce(message_en, '')`.execute(db);
  await db.schema
    .alterTable('notifications')
    .dropColumn('error')
    .dropColumn('failed_at')
    .dropColumn('request')
    .dropColumn('channel')
    .dropColumn('template_code')
    .dropColumn('deliverer')
    .alterColumn('message_ko', (c) => c.setNotNull())
    .alterColumn('message_en', (c) => c.setNotNull())
    .execute();
}
