/**
 * Changes of the places in line, for the event stream: one poller per API process, running only
 * while a customer with a stream listens, reading the tickets written since its last look (joined,
 * admitted, reserved, refused, left) and handing each to its customer's listeners. The place and wait
 * of a ticket still waiting change without its row changing: those come from the sale board.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, QueueTicket } from '../db/schema.js';
import type { Logger } from '../shared/log.js';

type Listener = (ticket: QueueTicket) => void;

/** Longer than any write's commit takes after its `now()`. */
const LOOK_BACK_MS = 5_000;
const BATCH = 2_000;

export interface TicketFeed {
  subscribe(customerId: string, listener: Listener): () => void;
  stop(): void;
}

export function createTicketFeed(db: Kysely<Database>, log: Logger, intervalMs = 500): TicketFeed {
  const listeners = new Map<string, Set<Listener>>();
  const seen = new Map<string, number>();
  let since: Date | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      since ??= (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
      const rows = await db
        .selectFrom('queue_tickets')
        .selectAll()
        .where('updated_at', '>', new Date(since.getTime() - LOOK_BACK_MS))
        .orderBy('updated_at')
        .limit(BATCH)
        .execute();
      for (const row of rows) {
        const at = row.updated_at.getTime();
        if (seen.get(row.id) === at) continue;
        seen.set(row.id, at);
        for (const listener of listeners.get(row.customer_id) ?? []) listener(row);
      }
      const latest = rows.at(-1)?.updated_at;
      if (latest && latest > since) since = latest;
      const horizon = since.getTime() - 2 * LOOK_BACK_MS;
      for (const [id, at] of seen) if (at < horizon) seen.delete(id);
    } catch (err) {
      log.warn('ticket feed: poll failed; trying again', { error: err });
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
    subscribe(customerId, listener) {
      if (!listeners.has(customerId)) listeners.set(customerId, new Set());
      listeners.get(customerId)!.add(listener);
      timer ??= setInterval(() => void poll(), intervalMs);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        const set = listeners.get(customerId)!;
        set.delete(listener);
        if (set.size === 0) listeners.delete(customerId);
        if (listeners.size === 0) stop();
      };
    },
    stop,
  };
}
