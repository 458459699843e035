/** Read-model activities: the customer centre's view and its outbox, changed together. */
import type { Kysely } from 'kysely';
import type { NotificationKind } from './contract.js';
import { queueNotification } from '../notification/repository.js';
import { applyTransition, type Transition } from './repository.js';
import type { Database } from '../../db/schema.js';

export interface TransitionRecord {
  reservationId: string;
  transition: Transition;
  notify?: NotificationKind;
}

/**
 * Records a state the workflow reached, with the customer's notification, in one transaction;
 * false when a write of the same or a higher version was there first.
 */
export async function recordTransition(db: Kysely<Database>, input: TransitionRecord): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const applied = await applyTransition(trx, input.reservationId, input.transition);
    if (applied && input.notify) await queueNotification(trx, input.reservationId, input.notify);
    return applied;
  });
}

export function createReservationActivities({ db }: { db: Kysely<Database> }) {
  return {
    /** Records a state the workflow reached, with the customer's notification, in one transaction. */
    async recordTransition(input: TransitionRecord): Promise<void> {
      await recordTransition(db, input);
    },

    /** Queues a notification that is not a state change (the pickup reminder). */
    async remindCustomer(input: { reservationId: string }): Promise<void> {
      await queueNotification(db, input.reservationId, 'REMINDER');
    },
  };
}
