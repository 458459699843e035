/** Idempotent demo data: phones with stock (through the ledger) and Seoul dealer stores. */
import type { Kysely } from 'kysely';
import { DEMO_AGENCIES, DEMO_PRODUCTS } from './data/demo.js';
import { createProduct } from './repositories/products.js';
import type { Database } from './schema.js';

export async function seedDemoData(db: Kysely<Database>): Promise<{ products: number; agencies: number }> {
  let products = 0;
  for (const p of DEMO_PRODUCTS) {
    if (await createProduct(db, p)) {
      products++;
    }
  }
  const agencies = await db
    .insertInto('agencies')
    .values(DEMO_AGENCIES)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return { products, agencies: Number(agencies.numInsertedOrUpdatedRows ?? 0) };
}
