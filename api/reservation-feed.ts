/**
 * The read model's changes, for the event stream: one poller per API process, running only while
 * someone listens. It reads what changed since its last look (with a look-back, since a write can
 * commit later than its `updated_at` says), and hands each new version of a reservation once to
 * the listeners of its customer, of its store and of everything (admins): on launch day tens of
 * thousands of customers may listen, and a change costs the same whoever else does.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../shared/log.js';

export interface FeedChange {
  id: string;
  customer_id: string;
  store_id: string | null;
}

type Listener = (change: FeedChange) => void;

/** Whose changes a listener hears. */
export type Audience = { customerId: string } | { storeId: string } | 'everything';

const keyOf = (a: Audience) => (a === 'everything' ? '*' : 'customerId' in a ? `c:${a.customerId}` : `s:${a.storeId}`);

/** How far back each look reaches: longer than any write's commit takes after its `now()`. */
const LOOK_BACK_MS = 5_000;
const BATCH = 1_000;

export interface ReservationFeed {
  /** Calls `listener` for every change of `audience`'s reservations from now on; returns the unsubscribe. */
  subscribe(audience: Audience, listener: Listener): () => void;
  stop(): void;
}

export function createReservationFeed(db: Kysely<Database>, log: Logger, intervalMs = 500): ReservationFeed {
  const listeners = new Map<string, Set<Listener>>();
  let count = 0;
  const tell = (key: string, change: FeedChange) => {
    for (const listener of listeners.get(key) ?? []) listener(change);
  };
  // Each reservation's last version handed out, with when it changed (pruned past the look-back).
  const seen = new Map<string, { version: string; at: number }>();
  let since: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      since ??= (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
      const rows = await db
        .selectFrom('reservations')
        .select(['id', 'customer_id', 'store_id', 'status', 'version', 'updated_at'])
        .where('updated_at', '>', new Date(since.getTime() - LOOK_BACK_MS))
        .orderBy('updated_at')
        .limit(BATCH)
        .execute();
      for (const row of rows) {
        const version = `${row.version}:${row.status}`;
        if (seen.get(row.id)?.version === version) continue;
        seen.set(row.id, { version, at: row.updated_at.getTime() });
        tell(`c:${row.customer_id}`, row);
        if (row.store_id) tell(`s:${row.store_id}`, row);
        tell('*', row);
      }
      const latest = rows.at(-1)?.updated_at;
      if (latest && latest > since) since = latest;
      const horizon = since.getTime() - 2 * LOOK_BACK_MS;
      for (const [id, entry] of seen) if (entry.at < horizon) seen.delete(id);
    } catch (err) {
      log.warn('reservation feed: poll failed; trying again', { error: err });
    } finally {
      polling = false;
    }
  };

  const stop = () => {
    clearInterval(timer);
    timer = undefined;
    since = undefined;
    seen.clear();
  };

  return {
    subscribe(audience, listener) {
      const key = keyOf(audience);
      if (!listeners.has(key)) listeners.set(key, new Set());
      listeners.get(key)!.add(listener);
      count++;
      timer ??= setInterval(() => void poll(), intervalMs);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        const set = listeners.get(key)!;
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
        if (--count === 0) stop();
      };
    },
    stop,
  };
}
