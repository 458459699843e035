/** Assignment activities: calls to the assignment service, behind a circuit breaker. */
import { ApplicationFailure, log } from '@temporalio/activity';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { Kysely } from 'kysely';
import { outboxEntry } from '../notification/repository.js';
import { applyTransition, findReservation, findWhereAndWhat } from '../reservation/repository.js';
import type { Database } from '../../db/schema.js';
import { assignmentKey, type AssignedStore, type Fulfilment } from '../reservation/contract.js';
import { recordTransition } from '../reservation/activities.js';

/** Where a customer without a location is served from: Seoul City Hall. */
const DEFAULT_LOCATION = { latitude: 37.5663, longitude: 126.9779 };

/** The assignment service did not answer properly (network, timeout, 5xx): counts for the breaker. */
class AssignmentUnavailable extends Error {
  override name = 'AssignmentUnavailable';
}

export interface AssignmentBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one trial call. */
  halfOpenAfterMs: number;
}

/** One breaker per worker process, shared by every activity execution in it. */
export function createAssignmentBreaker(options: AssignmentBreakerOptions = { failures: 5, halfOpenAfterMs: 5_000 }) {
  const policy = circuitBreaker(
    handleWhen((err) => err instanceof AssignmentUnavailable),
    { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.failures) },
  );
  let openedAt = 0;
  policy.onBreak(() => (openedAt = Date.now()));
  return {
    policy,
    options,
    state: (): 'closed' | 'open' | 'half-open' | 'isolated' =>
      ({ [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'isolated' }) [policy.state] as 'closed',
    /** Time until the open circuit lets a trial call through. */
    retryAfterMs: () => Math.max(250, openedAt + options.halfOpenAfterMs - Date.now()),
  };
}
export type AssignmentBreaker = ReturnType<typeof createAssignmentBreaker>;

/** How the workflow wants a found store recorded: the read model's version, and what to tell the customer. */
export interface ConfirmationRequest {
  version: number;
  fulfilment: Fulfilment;
  holdPeriodMs: number;
  notify: 'CONFIRMED' | 'REASSIGNED';
  detail: string | null;
}

/** A store that took the reservation, and the end of its hold period as recorded. */
export interface Confirmation {
  store: AssignedStore;
  holdUntil: string;
}

export interface AssignmentDeps {
  db: Kysely<Database>;
  assignmentUrl: string;
  assignmentToken: string;
  breaker: AssignmentBreaker;
  /** Per-request HTTP timeout. */
  requestTimeoutMs?: number;
}

export function createAssignmentActivities({ db, assignmentUrl, assignmentToken, breaker, requestTimeoutMs = 3_000 }: AssignmentDeps) {
  const authorization = `Bearer ${assignmentToken}`;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    try {
      return await breaker.policy.execute(async () => {
        let res: Response;
        try {
          res = await fetch(new URL(path, assignmentUrl), {
            method,
            headers: body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(requestTimeoutMs),
          });
        } catch (err) {
          throw new AssignmentUnavailable(`assignment service unreachable: ${(err as Error).message}`);
        }
        if (res.status >= 500) throw new AssignmentUnavailable(`assignment service answered ${res.status}`);
        return res;
      });
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        // Fail fast while the circuit is open, and tell Temporal when a retry can succeed.
        throw ApplicationFailure.create({
          type: 'AssignmentCircuitOpen',
          message: 'assignment service circuit is open',
          nextRetryDelay: breaker.retryAfterMs(),
        });
      }
      throw err;
    }
  };

  /** Asks the assignment service for the best store near `at` (Seoul City Hall if unknown); idempotent per key. */
  const requestStore = async (input: { reservationId: string; round?: number }, at: { latitude: number | null; longitude: number | null } | undefined) => {
    const location = at?.latitude != null && at.longitude != null ? { latitude: at.latitude, longitude: at.longitude } : DEFAULT_LOCATION;
    const res = await call('POST', '/assignments', { reservationId: assignmentKey(input.reservationId, input.round), ...location });
    const body = (await res.json()) as { storeId?: string; storeName?: string; storeAddress?: string; distanceKm?: number; code?: string };
    if (res.ok) {
      const store: AssignedStore = { storeId: body.storeId!, storeName: body.storeName!, distanceKm: body.distanceKm ?? null, fallback: false };
      // The read model keeps the address beside the name: the customer centre never asks the service.
      return { store, address: body.storeAddress ?? null };
    }
    if (res.status === 409) throw ApplicationFailure.retryable('no store has free capacity', 'NoCapacity');
    if (res.status === 410) throw ApplicationFailure.nonRetryable('the assignment was already released', 'AssignmentReleased');
    throw ApplicationFailure.nonRetryable(`assignment rejected: ${res.status} ${body.code ?? ''}`, 'AssignmentRejected');
  };

  /** Marks the assignment completed (phone handed over), freeing the store's capacity. */
  const completeAssignment = async (input: { reservationId: string; round?: number }): Promise<void> => {
    const res = await call('POST', `/assignments/${assignmentKey(input.reservationId, input.round)}/complete`);
    if (res.status === 404) {
      log.info('no store assignment to complete (central store delivery)');
      return;
    }
    if (!res.ok) throw ApplicationFailure.nonRetryable(`complete answered ${res.status}`, 'AssignmentRejected');
  };

  return {

    /**
     * Gets the best store for the reservation and records it CONFIRMED there (read model, timeline
     * and the customer's notification in one transaction). A retry after the record committed finds
     * the same store (assign is idempotent per key) and returns the hold deadline first recorded.
     */
    async assignStore(input: { reservationId: string; round?: number; confirm: ConfirmationRequest }): Promise<Confirmation> {
      const { reservationId } = input;
      const found = await findWhereAndWhat(db, reservationId);
      const { store, address } = await requestStore(input, found);
      const { version, fulfilment, holdPeriodMs, notify, detail } = input.confirm;
      const holdUntil = new Date(Date.now() + holdPeriodMs).toISOString();
      const transition = { status: 'CONFIRMED' as const, version, store, storeAddress: address, fulfilment, holdUntil, detail };
      const notification = outboxEntry(notify, { productName: found?.product_name ?? '', status: 'CONFIRMED', fulfilment, store, holdUntil });
      if (await applyTransition(db, reservationId, transition, notification)) return { store, holdUntil };
      const recorded = await findReservation(db, input.reservationId);
      const sameWrite = recorded?.version === version && recorded.store_id === store.storeId && recorded.hold_until;
      return { store, holdUntil: sameWrite ? recorded.hold_until!.toISOString() : holdUntil };
    },

    /** Completes the store's assignment (slot freed) and records the reservation COMPLETED. */
    async completeAtStore(input: { reservationId: string; round?: number; version: number }): Promise<void> {
      await completeAssignment(input);
      await recordTransition(db, { reservationId: input.reservationId, transition: { status: 'COMPLETED', version: input.version }, notify: 'COMPLETED' });
    },

    /** Releases the reservation's store slot (idempotent; safe when none was taken). */
    async releaseAssignment(input: { reservationId: string; round?: number }): Promise<void> {
      const res = await call('DELETE', `/assignments/${assignmentKey(input.reservationId, input.round)}`);
      if (!res.ok) throw new Error(`release answered ${res.status}`);
    },
  };
}
