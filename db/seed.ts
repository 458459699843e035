/** Idempotent demo data: phones with stock (through the ledger) and Seoul dealer stores. */
import type { Kysely } from 'kysely';
import { DEMO_STORES, DEMO_PRODUCTS } from './data/demo.js';
import { createProduct } from '../app/product/repository.js';
import type { Database } from './schema.js';

export async function seedDemoData(db: Kysely<Database>): Promise<{ products: number; stores: number }> {
  let products = 0;
  for (const p of DEMO_PRODUCTS) {
    if (await createProduct(db, p)) {
      products++;
    }
  }
  const stores = await db
    .insertInto('stores')
    .values(DEMO_STORES)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return { products, stores: Number(stores.numInsertedOrUpdatedRows ?? 0) };
}
