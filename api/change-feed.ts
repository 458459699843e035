/**
 * Changes of a table, for the event stream: one poller per API process and table, running only while
 * someone listens. It reads the rows written since its last look (with a look-back, since a write
 * can commit later than its `updated_at` says), and hands each new version of a row once to the
 * listeners of each key it belongs to: on launch day tens of thousands of customers may listen, and
 * a change costs the same whoever else does.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../platform/log.js';

/** How far back each look reaches: longer than any write's commit takes after its `now()`. */
const LOOK_BACK_MS = 5_000;

export interface ChangeSource<Row extends { id: string; updated_at: Date }> {
  /** What a log line calls it. */
  name: string;
  /** Up to a batch of rows written after `since`, oldest first. */
  read(db: Kysely<Database>, since: Date): Promise<Row[]>;
  /** Tells one version of a row from another. */
  versionOf(row: Row): string;
  /** The listeners' keys a row belongs to. */
  keysOf(row: Row): string[];
}

export interface ChangeFeed<Row> {
  /** Calls `listener` with every change of the rows of `key` from now on; returns the unsubscribe. */
  subscribe(key: string, listener: (row: Row) => void): () => void;
  stop(): void;
}

export function createChangeFeed<Row extends { id: string; updated_at: Date }>(
  db: Kysely<Database>,
  log: Logger,
  source: ChangeSource<Row>,
  intervalMs = 500,
): ChangeFeed<Row> {
  const listeners = new Map<string, Set<(row: Row) => void>>();
  let count = 0;
  // Each row's last version handed out, with when it changed (pruned past the look-back).
  const seen = new Map<string, { version: string; at: number }>();
  let since: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      since ??= (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
      const rows = await source.read(db, new Date(since.getTime() - LOOK_BACK_MS));
      for (const row of rows) {
        const version = source.versionOf(row);
        if (seen.get(row.id)?.version === version) continue;
        seen.set(row.id, { version, at: row.updated_at.getTime() });
        for (const key of source.keysOf(row)) for (const listener of listeners.get(key) ?? []) listener(row);
      }
      const latest = rows.at(-1)?.updated_at;
      if (latest && latest > since) since = latest;
      const horizon = since.getTime() - 2 * LOOK_BACK_MS;
      for (const [id, entry] of seen) if (entry.at < horizon) seen.delete(id);
    } catch (err) {
      log.warn(`${source.name} feed: poll failed; trying again`, { error: err });
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
    subscribe(key, listener) {
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
