import { sql, type Kysely } from 'kysely';

// Frozen in time: launch-day admission. A request is admitted only while the product's stock is
// above the units already claimed by decisions in flight; each claim is a row with a lease, and
// `products.claimed` is their sum, kept in the same transactions. Also an index for the outbox
// relay, which now delivers every notification in id order, and one for a customer's last known
// location (read when a reservation names none, as the seed's does).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('products')
    .addColumn('claimed', 'integer', (c) => c.notNull().defaultTo(0).check(sql`claimed >= 0`))
    .execute();
  await db.schema
    .createTable('stock_claims')
    .addColumn('reservation_id', 'text', (c) => c.primaryKey())
    .addColumn('product_id', 'integer', (c) => c.notNull().references('products.id'))
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('stock_claims_expiry_idx').on('stock_claims').columns(['product_id', 'expires_at']).execute();
  await db.schema
    .createIndex('notifications_unsent_order_idx')
    .on('notifications')
    .column('id')
    .where(sql.ref('sent_at'), 'is', null)
    .execute();
  await db.schema.createIndex('reservation_contacts_customer_idx').on('reservation_contacts').columns(['customer_id', 'created_at desc']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('reservation_contacts_customer_idx').execute();
  await db.schema.dropIndex('notifications_unsent_order_idx').execute();
  await db.schema.dropTable('stock_claims').execute();
  await db.schema.alterTable('products').dropColumn('claimed').execute();
}
