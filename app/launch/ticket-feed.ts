/**
 * Changes of the places in line, for the event stream: each ticket written (joined, admitted,
 * reserved, refused, left), handed to its customer's listeners by one poller per API process
 * (api/change-feed.ts), only while a customer listens. The place and wait of a ticket still waiting
 * change without its row changing: those come from the sale board.
 */
import type { Kysely } from 'kysely';
import type { Database, QueueTicket } from '../../db/schema.js';
import type { Logger } from '../../platform/log.js';
import { createChangeFeed, type ChangeFeed } from '../../api/change-feed.js';

const BATCH = 2_000;

export type TicketFeed = ChangeFeed<QueueTicket>;

export function createTicketFeed(db: Kysely<Database>, log: Logger, intervalMs = 500): TicketFeed {
  return createChangeFeed<QueueTicket>(
    db,
    log,
    {
      name: 'ticket',
      read: (from, since) => from.selectFrom('queue_tickets').selectAll().where('updated_at', '>', since).orderBy('updated_at').limit(BATCH).execute(),
      versionOf: (row) => String(row.updated_at.getTime()),
      keysOf: (row) => [row.customer_id],
    },
    intervalMs,
  );
}
