/** Revoked bearer tokens, by `jti`. */
import type { Db } from '../db/schema.js';

export async function revokeToken(db: Db, r: { jti: string; revokedBy: string; until: Date }): Promise<void> {
  await db
    .insertInto('revoked_tokens')
    .values({ jti: r.jti, revoked_by: r.revokedBy, until: r.until })
    .onConflict((oc) => oc.column('jti').doUpdateSet((eb) => ({ until: eb.fn('greatest', ['revoked_tokens.until', eb.ref('excluded.until')]) })))
    .execute();
}

/** The `jti`s still worth refusing: revoked, and not yet past the time the token would have expired. */
export async function listRevokedJtis(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('revoked_tokens').select('jti').where('until', '>', new Date()).execute();
  return rows.map((r) => r.jti);
}
