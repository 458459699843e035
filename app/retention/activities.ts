/** The retention activity, run daily by its Schedule: see app/retention/repository.ts for what goes and what stays. */
import { Context, log } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import {
  purgeEndedReservations,
  purgeEndedTickets,
  purgeIdempotencyKeys,
  purgeLaunchRecords,
  purgeLapsedRevocations,
  type PurgeCounts,
} from './repository.js';
import type { Database } from '../../db/schema.js';

export interface RetentionInput {
  /** How long after a reservation ends its personal data is kept. */
  retentionMs: number;
}

const BATCH = 500;

export interface RetentionDeps {
  db: Kysely<Database>;
  /** Has the assignment service forget released and completed slots older than `before`; how many (app/assignment/client.ts). */
  purgeSlotTombstones(before: Date): Promise<number>;
}

export function createRetentionActivities({ db, purgeSlotTombstones }: RetentionDeps) {
  return {
    /** Purges in batches (short transactions), heartbeating between them; idempotent. */
    async purgePersonalData({ retentionMs }: RetentionInput): Promise<PurgeCounts> {
      const cutoff = new Date(Date.now() - retentionMs);
      const counts: PurgeCounts = { reservations: 0, contacts: 0, requests: 0, notifications: 0, idempotencyKeys: 0, slotTombstones: 0, revokedTokens: 0, tickets: 0, samples: 0 };
      for (;;) {
        const batch = await purgeEndedReservations(db, cutoff, BATCH);
        counts.reservations += batch.reservations;
        counts.contacts += batch.contacts;
        counts.requests += batch.requests;
        counts.notifications += batch.notifications;
        Context.current().heartbeat(counts.reservations);
        if (batch.reservations < BATCH) break;
      }
      for (;;) {
        const purged = await purgeEndedTickets(db, cutoff, BATCH);
        counts.tickets += purged;
        Context.current().heartbeat(counts.reservations + counts.tickets);
        if (purged < BATCH) break;
      }
      counts.samples = await purgeLaunchRecords(db, cutoff);
      counts.idempotencyKeys = await purgeIdempotencyKeys(db, cutoff);
      counts.slotTombstones = await purgeSlotTombstones(cutoff).catch((err: unknown) => {
        // The tombstones hold no personal data: while the service is down they wait for the next run.
        log.warn('retention: the assignment service could not purge its slots; the next run tries again', { error: String(err) });
        return 0;
      });
      counts.revokedTokens = await purgeLapsedRevocations(db);
      log.info('retention: personal data purged', { endedBefore: cutoff.toISOString(), ...counts });
      return counts;
    },
  };
}
