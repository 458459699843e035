/** Stock activities: the synchronous reserve decision and its compensation. */
import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { reservationWorkflowId, type ReservationInput } from '../shared/contract.js';
import { queueNotification } from '../db/repositories/notifications.js';
import { findProduct } from '../db/repositories/products.js';
import { applyTransition, findReservation, insertReservation, type Transition } from '../db/repositories/reservations.js';
import { findStockMove, putBackStock, recordStockMove, stockKeys, takeStock } from '../db/repositories/stock.js';
import type { Database } from '../db/schema.js';

export type StockDecision = { accepted: true } | { accepted: false; reason: 'OUT_OF_STOCK' };

export function createStockActivities({ db }: { db: Kysely<Database> }) {
  return {
    /**
     * Atomically takes stock for a reservation and records it as ACCEPTED (version 1), or records
     * it REJECTED; the customer's notification is queued in the same transaction.
     */
    async reserveStock(input: ReservationInput): Promise<StockDecision> {
      return db.transaction().execute(async (trx) => {
        // A retry of an attempt that already committed answers with the recorded decision.
        const existing = await findReservation(trx, input.reservationId);
        if (existing) {
          return existing.status === 'REJECTED' ? { accepted: false, reason: 'OUT_OF_STOCK' } : { accepted: true };
        }
        if (!(await findProduct(trx, input.productId))) {
          throw ApplicationFailure.nonRetryable(`product ${input.productId} does not exist`, 'UnknownProduct');
        }
        const row = {
          id: input.reservationId,
          workflowId: reservationWorkflowId(input.reservationId),
          productId: input.productId,
          quantity: input.quantity,
          customerId: input.customerId,
          fulfilment: input.fulfilment,
          version: 1,
        };
        const left = await takeStock(trx, input.productId, input.quantity);
        if (left === undefined) {
          await insertReservation(trx, { ...row, status: 'REJECTED', rejectReason: 'OUT_OF_STOCK' });
          await queueNotification(trx, input.reservationId, 'REJECTED');
          return { accepted: false, reason: 'OUT_OF_STOCK' };
        }
        // Concurrent duplicate attempts collide on the ledger key and roll back their UPDATE.
        await recordStockMove(trx, {
          productId: input.productId,
          reservationId: input.reservationId,
          kind: 'RESERVE',
          delta: -input.quantity,
          key: stockKeys.reserve(input.reservationId),
        });
        await insertReservation(trx, { ...row, status: 'ACCEPTED' });
        await queueNotification(trx, input.reservationId, 'ACCEPTED');
        return { accepted: true };
      });
    },

    /**
     * Puts a reservation's stock back exactly once (a no-op when nothing was taken) and, in the same
     * transaction, records the final state it leads to (CANCELLED, EXPIRED, REJECTED).
     */
    async releaseStock(input: {
      reservationId: string;
      final?: Transition & { status: 'CANCELLED' | 'EXPIRED' | 'REJECTED' };
    }): Promise<{ released: number }> {
      const { reservationId } = input;
      return db.transaction().execute(async (trx) => {
        let released = 0;
        const taken = await findStockMove(trx, stockKeys.reserve(reservationId));
        if (taken && !(await findStockMove(trx, stockKeys.release(reservationId)))) {
          released = -taken.delta;
          await putBackStock(trx, taken.product_id, released);
          await recordStockMove(trx, {
            productId: taken.product_id,
            reservationId,
            kind: 'RELEASE',
            delta: released,
            key: stockKeys.release(reservationId),
          });
        }
        if (input.final && (await applyTransition(trx, reservationId, input.final)) && input.final.status !== 'REJECTED') {
          await queueNotification(trx, reservationId, input.final.status);
        }
        return { released };
      });
    },
  };
}
