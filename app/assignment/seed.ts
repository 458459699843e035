/** The demo stores (`npm start`, `migrate --seed`), written into the service's own tables; idempotent. */
import type { Kysely } from 'kysely';
import type { AssignmentDatabase } from './schema.js';
import { DEMO_STORES } from '../../db/data/demo.js';

export async function seedDemoStores(db: Kysely<AssignmentDatabase>): Promise<number> {
  const result = await db
    .insertInto('assignment.stores')
    .values(DEMO_STORES)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}
