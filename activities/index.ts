/** All activities of the reservation worker, built from their dependencies. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { createReservationActivities } from './reservation.js';
import { createStockActivities } from './stock.js';

export interface ActivityDeps {
  db: Kysely<Database>;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createStockActivities(deps),
    ...createReservationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
