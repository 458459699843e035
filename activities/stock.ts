/** Stock activities: the synchronous reserve decision and its compensation. */
import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { reservationWorkflowId, type ReservationInput } from '../shared/contract.js';
import { findProduct } from '../db/repositories/products.js';
import { findReservation, insertReservation } from '../db/repositories/reservations.js';
import { findStockMove, putBackStock, recordStockMove, stockKeys, takeStock } from '../db/repositories/stock.js';
import type { Database } from '../db/schema.js';

export type StockDecision = { accepted: true } | { accepted: false; reason: 'OUT_OF_STOCK' };

export function createStockActivities({ db }: { db: Kysely<Database> }) {
  return {
    /** Atomically takes stock for a reservation and records it (ACCEPTED) or records REJECTED. */
    async reserveStock(input: ReservationInput): Promise<StockDecision> {
      return db.transaction().execute(async (trx) => {
        // A retry of an attempt that already committed answers with the recorded decision.
        const existing = await findReservation(trx, input.reservationId);
        if (existing) {
          return existing.status === 'REJECTED'
            ? { accepted: false, reason: 'OUT_OF_STOCK' }
            : { accepted: true };
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
        };
        const left = await takeStock(trx, input.productId, input.quantity);
        if (left === undefined) {
          await insertReservation(trx, { ...row, status: 'REJECTED', rejectReason: 'OUT_OF_STOCK' });
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
        return { accepted: true };
      });
    },

    /** Puts a reservation's stock back exactly once; a no-op when nothing was taken. */
    async releaseStock({ reservationId }: { reservationId: string }): Promise<{ released: number }> {
      return db.transaction().execute(async (trx) => {
        if (await findStockMove(trx, stockKeys.release(reservationId))) return { released: 0 };
        const taken = await findStockMove(trx, stockKeys.reserve(reservationId));
        if (!taken) return { released: 0 };
        const quantity = -taken.delta;
        await putBackStock(trx, taken.product_id, quantity);
        await recordStockMove(trx, {
          productId: taken.product_id,
          reservationId,
          kind: 'RELEASE',
          delta: quantity,
          key: stockKeys.release(reservationId),
        });
        return { released: quantity };
      });
    },
  };
}
