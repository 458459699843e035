/** All activities of the reservation worker, built from their dependencies. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { parseAssignmentKey } from '../app/reservation/contract.js';
import { createAssignmentActivities, createAssignmentBreaker, type AssignmentBreaker } from '../app/assignment/activities.js';
import { createAssignmentClient } from '../app/assignment/client.js';
import { createReconcileActivities } from '../app/reconcile/activities.js';
import { createReservationActivities } from '../app/reservation/activities.js';
import { createRetentionActivities } from '../app/retention/activities.js';
import { createStockActivities } from '../app/product/activities.js';

export interface ActivityDeps {
  db: Kysely<Database>;
  assignmentUrl: string;
  /** Presented to the assignment service on every call. */
  assignmentToken: string;
  /** Shared by every activity of the worker process; made here when not given. */
  breaker?: AssignmentBreaker;
}

export function createActivities(deps: ActivityDeps) {
  const breaker = deps.breaker ?? createAssignmentBreaker();
  const assignment = createAssignmentActivities({ ...deps, breaker });
  const releaseSlot = (key: string) => assignment.releaseAssignment(parseAssignmentKey(key));
  // The reconciler and retention ask the assignment service for its slots; they never read its tables.
  const service = createAssignmentClient({ url: deps.assignmentUrl, token: deps.assignmentToken, timeoutMs: 10_000 });
  return {
    ...createStockActivities(deps),
    ...createReservationActivities(deps),
    ...assignment,
    ...createReconcileActivities({ db: deps.db, releaseSlot, activeSlots: (before) => service.activeSlots(before) }),
    ...createRetentionActivities({ db: deps.db, purgeSlotTombstones: (before) => service.purgeEnded(before) }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
