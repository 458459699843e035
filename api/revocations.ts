/**
 * What the API process knows of revoked tokens: read from PostgreSQL in the background every few
 * seconds (so checking a token costs no query on launch day), and added to at once when this
 * process is the one an admin revoked through. Another API process refuses the token within
 * `refreshMs`.
 */
import { listRevokedJtis } from '../db/repositories/revocations.js';
import type { Db } from '../db/schema.js';
import type { Logger } from '../shared/log.js';

export interface RevocationList {
  isRevoked(jti: string): boolean;
  remember(jti: string): void;
}

export function createRevocationList(db: Db, log: Logger, refreshMs = 5_000): RevocationList {
  let revoked = new Set<string>();
  /** Revoked here since the last read began: kept until a read has them too. */
  const recent = new Set<string>();
  let fresh = 0;
  let refreshing: Promise<void> | undefined;
  const refresh = () => {
    refreshing ??= listRevokedJtis(db)
      .then((jtis) => {
        revoked = new Set(jtis);
        for (const jti of recent) if (revoked.has(jti)) recent.delete(jti);
        for (const jti of recent) revoked.add(jti);
        fresh = Date.now();
      })
      .catch((err: unknown) => log.warn('could not read revoked tokens; keeping the last list', { error: err }))
      .finally(() => (refreshing = undefined));
  };
  refresh();
  return {
    isRevoked(jti) {
      // No timer to stop: a request after the list went stale starts the next read.
      if (Date.now() - fresh > refreshMs) refresh();
      return revoked.has(jti);
    },
    remember(jti) {
      revoked.add(jti);
      recent.add(jti);
    },
  };
}
