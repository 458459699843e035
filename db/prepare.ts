import type { Kysely } from 'kysely';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';
import { seedDemoData } from './seed.js';

/** Runs migrations, then the idempotent demo seed. */
export async function prepareDatabase(db: Kysely<Database>, options: { seed: boolean }) {
  const migrated = await migrateToLatest(db);
  const seeded = options.seed ? await seedDemoData(db) : { products: 0, stores: 0 };
  return { migrated, seeded };
}
