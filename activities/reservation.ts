/** Read-model activities: keep the customer centre's view of a reservation in step. */
import type { Kysely } from 'kysely';
import type { ReservationStatus } from '../shared/contract.js';
import { setReservationStatus } from '../db/repositories/reservations.js';
import type { Database } from '../db/schema.js';

export function createReservationActivities({ db }: { db: Kysely<Database> }) {
  return {
    /** Records a status the workflow reached (idempotent: one timeline entry per status). */
    async recordStatus(input: {
      reservationId: string;
      status: ReservationStatus;
      cancelReason?: string | null;
    }): Promise<void> {
      await db.transaction().execute((trx) =>
        setReservationStatus(trx, input.reservationId, input.status, { cancelReason: input.cancelReason }),
      );
    },
  };
}
