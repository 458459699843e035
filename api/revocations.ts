/**
 * What the API process knows of revoked tokens: read from PostgreSQL in the background every few
 * seconds (so checking a token costs no query on launch day), and added to at once when this
 * process is the one an admin revoked through. Another API process refuses the token within
 * `refreshMs`.
 *
 * The list fails closed: until its first read has succeeded, and once its last successful read is
 * older than `maxStaleMs` (reads failing), it is not trusted, and a caller presenting a token is
 * told to come back (503) rather than let in on a list that may miss a revocation.
 */
import { listRevokedJtis } from './revocation-repository.js';
import type { Db } from '../db/schema.js';
import type { Logger } from '../platform/log.js';

export interface RevocationList {
  isRevoked(jti: string): boolean;
  remember(jti: string): void;
  /** Whether the list can be trusted now: read at least once, and lately enough. */
  trusted(): boolean;
  /** Trusted, after waiting (at most `waitMs`) for a read when it is not: the check before a token is accepted. */
  ready(waitMs?: number): Promise<boolean>;
  /** How old the last successful read is (Infinity before the first), for readiness. */
  ageMs(): number;
}

export interface RevocationTiming {
  /** A read starts when a check finds the last one older than this (5 s). */
  refreshMs?: number;
  /** The list is trusted for this long after its last successful read (30 s: six missed reads). */
  maxStaleMs?: number;
}

export const REVOCATIONS_MAX_STALE_MS = 30_000;

export function createRevocationList(db: Db, log: Logger, { refreshMs = 5_000, maxStaleMs = REVOCATIONS_MAX_STALE_MS }: RevocationTiming = {}): RevocationList {
  let revoked = new Set<string>();
  /** Revoked here since the last read began: kept until a read has them too. */
  const recent = new Set<string>();
  let fresh = -Infinity;
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= listRevokedJtis(db)
      .then((jtis) => {
        revoked = new Set(jtis);
        for (const jti of recent) if (revoked.has(jti)) recent.delete(jti);
        for (const jti of recent) revoked.add(jti);
        fresh = Date.now();
      })
      .catch((err: unknown) => log.warn('could not read revoked tokens; keeping the last list', { error: err, lastReadMsAgo: Number.isFinite(fresh) ? Date.now() - fresh : 'never', trustedForMs: maxStaleMs }))
      .finally(() => (refreshing = undefined)));
  // No timer to stop: a check after the list went stale starts the next read.
  const refreshIfOld = () => {
    if (Date.now() - fresh > refreshMs) void refresh();
  };
  const trusted = () => Date.now() - fresh <= maxStaleMs;
  void refresh();
  return {
    isRevoked(jti) {
      refreshIfOld();
      return revoked.has(jti);
    },
    remember(jti) {
      revoked.add(jti);
      recent.add(jti);
    },
    trusted() {
      refreshIfOld();
      return trusted();
    },
    async ready(waitMs = 2_000) {
      refreshIfOld();
      if (trusted()) return true;
      const read = refresh();
      await Promise.race([read, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
      return trusted();
    },
    ageMs: () => Date.now() - fresh,
  };
}
