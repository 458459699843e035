import { sql, type Kysely } from 'kysely';

// Frozen in time: the whole lifecycle (assignment, fulfilment, versioned read model, outbox).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('agencies')
    .addColumn('active_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_central', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`alter table agencies add constraint agencies_capacity_respected
    check (active_count >= 0 and active_count <= capacity)`.execute(db);

  await db.schema
    .createTable('assignments')
    .addColumn('reservation_id', 'text', (c) => c.primaryKey())
    .addColumn('agency_id', 'text', (c) => c.references('agencies.id'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('ACTIVE', 'RELEASED', 'COMPLETED')`))
    .addColumn('distance_km', 'double precision')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('assignments_agency_idx').on('assignments').columns(['agency_id', 'status']).execute();

  await db.schema
    .alterTable('reservations')
    .addColumn('fulfilment', 'text', (c) => c.notNull().defaultTo('PICKUP'))
    .addColumn('agency_id', 'text')
    .addColumn('agency_name', 'text')
    .addColumn('agency_distance_km', 'double precision')
    .addColumn('hold_until', 'timestamptz')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.createIndex('reservations_agency_idx').on('reservations').columns(['agency_id', 'created_at']).execute();
  await db.schema.createIndex('reservations_product_idx').on('reservations').columns(['product_id', 'created_at']).execute();
  await db.schema.createIndex('reservations_created_idx').on('reservations').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('reservation_id', 'text', (c) => c.notNull().references('reservations.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message_ko', 'text', (c) => c.notNull())
    .addColumn('message_en', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .addUniqueConstraint('notifications_once', ['reservation_id', 'kind'])
    .execute();
  await db.schema
    .createIndex('notifications_unsent_idx')
    .on('notifications')
    .column('reservation_id')
    .where(sql.ref('sent_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('notifications').execute();
  await db.schema.dropTable('assignments').execute();
  for (const col of ['fulfilment', 'agency_id', 'agency_name', 'agency_distance_km', 'hold_until', 'version']) {
    await db.schema.alterTable('reservations').dropColumn(col).execute();
  }
  await sql`alter table agencies drop constraint agencies_capacity_respected`.execute(db);
  await db.schema.alterTable('agencies').dropColumn('active_count').dropColumn('is_central').execute();
}
