/**
 * Idempotent demo data: phones with stock (through the ledger), and the Seoul dealer stores through
 * the assignment service's own seed (its tables are its own; this runs as the owner, at migration).
 */
import type { Kysely } from 'kysely';
import { DEMO_PRODUCTS } from './data/demo.js';
import { createProduct } from '../app/product/repository.js';
import { seedDemoStores } from '../app/assignment/seed.js';
import type { AssignmentDatabase } from '../app/assignment/schema.js';
import type { Database } from './schema.js';

export async function seedDemoData(db: Kysely<Database>): Promise<{ products: number; stores: number }> {
  let products = 0;
  for (const p of DEMO_PRODUCTS) {
    if (await createProduct(db, p)) {
      products++;
    }
  }
  // The owner's connection, typed for the other schema: the same pool, schema-qualified names.
  const stores = await seedDemoStores(db as unknown as Kysely<AssignmentDatabase>);
  return { products, stores };
}
