/** Stock activities: the synchronous reserve decision and its compensation. */
import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { ReservationInput } from '../shared/contract.js';
import { releaseClaim } from '../db/repositories/admission.js';
import { outboxEntry, queueNotification } from '../db/repositories/notifications.js';
import { applyTransition, findReservation, insertReservation, readModelRow, type Transition } from '../db/repositories/reservations.js';
import { beforeDecision, findStockMove, putBackStock, recordStockDecision, recordStockMove, stockKeys } from '../db/repositories/stock.js';
import type { Database, Db } from '../db/schema.js';

export type StockDecision = { accepted: true } | { accepted: false; reason: 'OUT_OF_STOCK' };

export function createStockActivities({ db }: { db: Kysely<Database> }) {
  return {
    /**
     * Takes stock for a reservation and records it ACCEPTED (version 1), or records it REJECTED, with
     * the customer's notification, in one statement that also ends the request's admission claim (so
     * its units are counted once, as stock taken or free). A retry of an attempt that committed
     * answers with the recorded decision.
     */
    async reserveStock(input: ReservationInput): Promise<StockDecision> {
      const { recorded, product_name: productName } = await beforeDecision(db, input.reservationId, input.productId);
      if (recorded) return recorded === 'REJECTED' ? { accepted: false, reason: 'OUT_OF_STOCK' } : { accepted: true };
      if (productName === null) throw ApplicationFailure.nonRetryable(`product ${input.productId} does not exist`, 'UnknownProduct');
      const row = { ...readModelRow(input, 1), status: 'ACCEPTED' as const };
      const tell = (kind: 'ACCEPTED' | 'REJECTED') => outboxEntry(kind, { reservationId: row.id, productName, status: kind, fulfilment: row.fulfilment });
      const accepted = await recordStockDecision(db, { row, accepted: tell('ACCEPTED'), rejected: tell('REJECTED') });
      return accepted ? { accepted: true } : { accepted: false, reason: 'OUT_OF_STOCK' };
    },

    /**
     * Settles a decision whose outcome is unknown (every attempt failed or timed out): if an attempt
     * committed, its stock goes back; if none did, a REJECTED record is written first, so a late
     * attempt finds it and takes nothing. Either way the reservation ends REJECTED.
     */
    async abandonReservation({ input, version }: { input: ReservationInput; version: number }): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await releaseClaim(trx, input.reservationId);
        const existing = await findReservation(trx, input.reservationId);
        if (!existing) {
          await insertReservation(trx, { ...readModelRow(input, version), status: 'REJECTED', rejectReason: 'STOCK_UNAVAILABLE' });
          return;
        }
        await putBack(trx, input.reservationId);
        await applyTransition(trx, input.reservationId, { status: 'REJECTED', version, detail: 'STOCK_UNAVAILABLE' });
      });
    },

    /**
     * Puts a reservation's stock back exactly once (a no-op when nothing was taken) and, in the same
     * transaction, records the final state it leads to (CANCELLED, EXPIRED, REJECTED).
     */
    async releaseStock(input: {
      reservationId: string;
      final: Transition & { status: 'CANCELLED' | 'EXPIRED' };
    }): Promise<{ released: number }> {
      const { reservationId, final } = input;
      return db.transaction().execute(async (trx) => {
        const released = await putBack(trx, reservationId);
        if (await applyTransition(trx, reservationId, final)) await queueNotification(trx, reservationId, final.status);
        return { released };
      });
    },
  };
}

/** Returns a reservation's stock with one RELEASE move, unless it took none or already gave it back. */
async function putBack(trx: Db, reservationId: string): Promise<number> {
  const taken = await findStockMove(trx, stockKeys.reserve(reservationId));
  if (!taken || (await findStockMove(trx, stockKeys.release(reservationId)))) return 0;
  const quantity = -taken.delta;
  await putBackStock(trx, taken.product_id, quantity);
  // A concurrent duplicate collides on this key and rolls back its UPDATE.
  await recordStockMove(trx, { productId: taken.product_id, reservationId, kind: 'RELEASE', delta: quantity, key: stockKeys.release(reservationId) });
  return quantity;
}
