/** Stock activities: the synchronous reserve decision and its compensation. */
import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { ReservationInput } from '../reservation/contract.js';
import { releaseClaim } from '../launch/admission.js';
import { outboxEntry, queueNotification } from '../notification/repository.js';
import { findProduct } from './repository.js';
import { returnAllowance } from '../launch/allowances.js';
import { applyTransition, findReservation, firstSoldOutRefusal, insertReservation, readModelRow, type Transition } from '../reservation/repository.js';
import { putBackReservationStock, recordStockMove, stockKeys, takeStock } from './stock.js';
import type { Database } from '../../db/schema.js';

/**
 * `ADMISSION_LAPSED`: the admission was given up before this decision (the API could not start the
 * workflow and gave the customer's allowance back); nothing is taken.
 */
export type StockDecision = { accepted: true } | { accepted: false; reason: 'OUT_OF_STOCK' | 'ADMISSION_LAPSED' };

export function createStockActivities({ db }: { db: Kysely<Database> }) {
  return {
    /**
     * Atomically takes stock for a reservation and records it as ACCEPTED (version 1), or records
     * it REJECTED; the customer's notification is queued in the same transaction, and the request's
     * admission claim (if any) ends with it, so its units are counted once, as stock taken or free.
     */
    async reserveStock(input: ReservationInput): Promise<StockDecision> {
      return db.transaction().execute(async (trx) => {
        // A retry of an attempt that already committed answers with the recorded decision.
        const existing = await findReservation(trx, input.reservationId);
        if (existing) {
          if (existing.status !== 'REJECTED') return { accepted: true };
          return { accepted: false, reason: existing.reject_reason === 'ADMISSION_LAPSED' ? 'ADMISSION_LAPSED' : 'OUT_OF_STOCK' };
        }
        const { lapsed } = await releaseClaim(trx, input.reservationId);
        const row = readModelRow(input, 1);
        const facts = { fulfilment: row.fulfilment };
        const taken = lapsed ? undefined : await takeStock(trx, input.productId, input.quantity);
        if (!taken) {
          const product = await findProduct(trx, input.productId);
          if (!product) throw ApplicationFailure.nonRetryable(`product ${input.productId} does not exist`, 'UnknownProduct');
          const reason = lapsed ? 'ADMISSION_LAPSED' : 'OUT_OF_STOCK';
          await returnAllowance(trx, input.reservationId);
          // A customer is told a product is sold out once; an admission given up is always explained.
          const tell = lapsed || (await firstSoldOutRefusal(trx, { customerId: input.customerId, productId: input.productId, reservationId: input.reservationId }));
          const notification = tell ? outboxEntry('REJECTED', { ...facts, productName: product.name, status: 'REJECTED', rejectReason: reason }) : undefined;
          await insertReservation(trx, { ...row, status: 'REJECTED', rejectReason: reason }, notification);
          return { accepted: false, reason };
        }
        // Concurrent duplicate attempts collide on the ledger key and roll back their UPDATE.
        await recordStockMove(trx, {
          productId: input.productId,
          reservationId: input.reservationId,
          kind: 'RESERVE',
          delta: -input.quantity,
          key: stockKeys.reserve(input.reservationId),
        });
        const notification = outboxEntry('ACCEPTED', { ...facts, productName: taken.name, status: 'ACCEPTED' });
        await insertReservation(trx, { ...row, status: 'ACCEPTED' }, notification);
        return { accepted: true };
      });
    },

    /**
     * Settles a decision whose outcome is unknown (every attempt failed or timed out): if an attempt
     * committed, its stock goes back; if none did, a REJECTED record is written first, so a late
     * attempt finds it and takes nothing. Either way the reservation ends REJECTED.
     */
    async abandonReservation({ input, version }: { input: ReservationInput; version: number }): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await releaseClaim(trx, input.reservationId);
        const product = await findProduct(trx, input.productId);
        const row = { ...readModelRow(input, version), status: 'REJECTED' as const, rejectReason: 'STOCK_UNAVAILABLE' as const };
        // The customer is told either way: a late commit may already have told them ACCEPTED.
        const notification = outboxEntry('REJECTED', {
          productName: product?.name ?? `product ${input.productId}`,
          status: 'REJECTED',
          fulfilment: row.fulfilment,
          rejectReason: row.rejectReason,
        });
        const existing = await findReservation(trx, input.reservationId);
        if (!existing) {
          await returnAllowance(trx, input.reservationId);
          await insertReservation(trx, row, notification);
          return;
        }
        await putBackReservationStock(trx, input.reservationId);
        await applyTransition(trx, input.reservationId, { status: 'REJECTED', version, detail: 'STOCK_UNAVAILABLE' }, notification);
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
        const released = await putBackReservationStock(trx, reservationId);
        if (await applyTransition(trx, reservationId, final)) await queueNotification(trx, reservationId, final.status);
        return { released };
      });
    },
  };
}
