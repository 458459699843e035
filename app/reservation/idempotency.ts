/** Idempotency keys: the first use of a key fixes what it means; a different request under it is refused. */
import type { Db } from '../../db/schema.js';

export type KeyClaim = { outcome: 'FIRST' | 'REPLAY'; resourceId: string } | { outcome: 'MISMATCH' };

export async function claimIdempotencyKey(
  db: Db,
  k: { scope: string; principal: string; key: string; requestHash: string; resourceId: string },
): Promise<KeyClaim> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ scope: k.scope, principal: k.principal, key: k.key, request_hash: k.requestHash, resource_id: k.resourceId })
    .onConflict((oc) => oc.columns(['scope', 'principal', 'key']).doNothing())
    .returning('resource_id')
    .executeTakeFirst();
  if (inserted) return { outcome: 'FIRST', resourceId: inserted.resource_id };
  return (await findIdempotencyKey(db, k))!;
}

/** What an earlier use of the key means for this request (REPLAY or MISMATCH); undefined if it was never used. */
export async function findIdempotencyKey(db: Db, k: { scope: string; principal: string; key: string; requestHash: string }): Promise<KeyClaim | undefined> {
  const existing = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'resource_id'])
    .where('scope', '=', k.scope)
    .where('principal', '=', k.principal)
    .where('key', '=', k.key)
    .executeTakeFirst();
  if (!existing) return undefined;
  return existing.request_hash === k.requestHash ? { outcome: 'REPLAY', resourceId: existing.resource_id } : { outcome: 'MISMATCH' };
}

/** Gives a key up again (its request changed nothing), so that its next use counts as the first. */
export async function releaseIdempotencyKey(db: Db, k: { scope: string; principal: string; key: string }): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('scope', '=', k.scope).where('principal', '=', k.principal).where('key', '=', k.key).execute();
}
