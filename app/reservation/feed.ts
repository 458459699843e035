/**
 * The read model's changes, for the event stream: each new version of a reservation, handed to the
 * listeners of its customer, of its store and of everything (admins), by one poller per API process
 * (api/change-feed.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Logger } from '../../platform/log.js';
import { createChangeFeed, type ChangeFeed } from '../../api/change-feed.js';

export interface FeedChange {
  id: string;
  customer_id: string;
  store_id: string | null;
  status: string;
  version: number;
  updated_at: Date;
}

/** Whose changes a listener hears. */
export type Audience = { customerId: string } | { storeId: string } | 'everything';

export const audienceKey = (a: Audience) => (a === 'everything' ? '*' : 'customerId' in a ? `c:${a.customerId}` : `s:${a.storeId}`);

const BATCH = 1_000;

export type ReservationFeed = ChangeFeed<FeedChange>;

export function createReservationFeed(db: Kysely<Database>, log: Logger, intervalMs = 500): ReservationFeed {
  return createChangeFeed<FeedChange>(
    db,
    log,
    {
      name: 'reservation',
      read: (from, since) =>
        from
          .selectFrom('reservations')
          .select(['id', 'customer_id', 'store_id', 'status', 'version', 'updated_at'])
          .where('updated_at', '>', since)
          .orderBy('updated_at')
          .limit(BATCH)
          .execute(),
      versionOf: (row) => `${row.version}:${row.status}`,
      keysOf: (row) => [`c:${row.customer_id}`, ...(row.store_id ? [`s:${row.store_id}`] : []), '*'],
    },
    intervalMs,
  );
}
