/** Assignment activities: calls to the assignment service, behind a circuit breaker. */
import { ApplicationFailure, log } from '@temporalio/activity';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import type { Kysely } from 'kysely';
import { findContact } from '../db/repositories/reservations.js';
import type { Database } from '../db/schema.js';
import { assignmentKey, type AssignedStore } from '../shared/contract.js';

/** Where a customer without a location is served from: Seoul City Hall. */
export const DEFAULT_LOCATION = { latitude: 37.5663, longitude: 126.9779 };

/** The assignment service did not answer properly (network, timeout, 5xx): counts for the breaker. */
export class AssignmentUnavailable extends Error {
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

export interface AssignmentDeps {
  db: Kysely<Database>;
  assignmentUrl: string;
  breaker: AssignmentBreaker;
  /** Per-request HTTP timeout. */
  requestTimeoutMs?: number;
}

export function createAssignmentActivities({ db, assignmentUrl, breaker, requestTimeoutMs = 3_000 }: AssignmentDeps) {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    try {
      return await breaker.policy.execute(async () => {
        let res: Response;
        try {
          res = await fetch(new URL(path, assignmentUrl), {
            method,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
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

  return {
    /** Asks the assignment service for the best store near the customer (idempotent per reservation). */
    async assignAgency(input: { reservationId: string; round?: number }): Promise<AssignedStore> {
      const contact = await findContact(db, input.reservationId);
      const location =
        contact?.latitude != null && contact.longitude != null ? { latitude: contact.latitude, longitude: contact.longitude } : DEFAULT_LOCATION;
      const res = await call('POST', '/assignments', { reservationId: assignmentKey(input.reservationId, input.round), ...location });
      const body = (await res.json()) as { agencyId?: string; agencyName?: string; distanceKm?: number; code?: string };
      if (res.ok) return { agencyId: body.agencyId!, agencyName: body.agencyName!, distanceKm: body.distanceKm ?? null, fallback: false };
      if (res.status === 409) throw ApplicationFailure.retryable('no store has free capacity', 'NoCapacity');
      if (res.status === 410) throw ApplicationFailure.nonRetryable('the assignment was already released', 'AssignmentReleased');
      throw ApplicationFailure.nonRetryable(`assignment rejected: ${res.status} ${body.code ?? ''}`, 'AssignmentRejected');
    },

    /** Releases the reservation's store slot (idempotent; safe when none was taken). */
    async releaseAssignment(input: { reservationId: string; round?: number }): Promise<void> {
      const res = await call('DELETE', `/assignments/${assignmentKey(input.reservationId, input.round)}`);
      if (!res.ok) throw new Error(`release answered ${res.status}`);
    },

    /** Marks the assignment completed (phone handed over), freeing the store's capacity. */
    async completeAssignment(input: { reservationId: string; round?: number }): Promise<void> {
      const res = await call('POST', `/assignments/${assignmentKey(input.reservationId, input.round)}/complete`);
      if (res.status === 404) {
        log.info('no store assignment to complete (central store delivery)');
        return;
      }
      if (!res.ok) throw ApplicationFailure.nonRetryable(`complete answered ${res.status}`, 'AssignmentRejected');
    },
  };
}
