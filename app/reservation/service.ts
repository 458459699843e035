/**
 * The reservation service: what a reservation's routes do beyond HTTP, callable without it. Reserve
 * (the Idempotency-Key, the customer's contact, admission or a place in line, the stock decision:
 * reserver.ts), read, list, cancel and complete.
 *
 * Authorisation is the edge's (the routes and the event stream, with api/auth.ts): whoever calls
 * here has checked the actor's role and that the reservation is one the actor may see. `actor` says
 * who acts: whose Idempotency-Key a request is under, whose contact a customer's is, who asked for
 * a cancel; never whether they may.
 */
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { listNotifications } from '../notification/repository.js';
import { findTicketOfReservation } from '../launch/tickets.js';
import type { Line } from '../launch/line.js';
import { cancelSignal, completeSignal, isCancellable, reservationWorkflowId, type CancelRequest, type Fulfilment, type ReservationInput } from './contract.js';
import { customerOf, type Customer, type CustomerDeps, type GivenCustomer } from './customers.js';
import { claimIdempotencyKey, findIdempotencyKey, releaseIdempotencyKey } from './idempotency.js';
import { decodeCursor, encodeCursor, type ReservationView } from './mapping.js';
import { getReservationView, listReservations, recordRequest, type ReservationFilter } from './repository.js';
import type { Reserver } from './reserver.js';
import { wasSignalled } from './signal-history.js';
import type { QueueTicket } from '../../db/schema.js';
import type { Principal } from '../../platform/auth.js';
import { newReservationId, reservationIdForKey } from '../../platform/ids.js';
import type { Logger } from '../../platform/log.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';

export type ReservationServiceDeps = CustomerDeps &
  Pick<AppDeps, 'temporal' | 'log' | 'policy'> & {
    /** The clock, in milliseconds since the epoch (Date.now unless told): a hold's end is judged by it. */
    now?: () => number;
  };

/** What a reserve asks for (CreateReservation, as its route parsed it). */
export interface ReserveRequest {
  productId: number;
  quantity: number;
  fulfilment: Fulfilment;
  customer?: GivenCustomer;
}

/** A reserve's answer: the reservation with stock reserved, or a place in line. Refusals are problems. */
export type Reserved = { kind: 'reserved'; reservation: ReservationView } | { kind: 'queued'; ticket: QueueTicket };

/** A request under an Idempotency-Key: whose key, and what the key's first use asked (its hash). */
type Keyed = { principal: string; key: string; requestHash: string };

/** The id a reserve's reservation (and so its workflow) gets: with a key, the key's, so Temporal itself refuses a second start. */
export function reservationIdFor(actor: Principal, key: string | undefined): string {
  return key ? reservationIdForKey(actor.sub, key) : newReservationId();
}

const hashOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value ?? null)).digest('hex');

const keyReused = (what: string) => new Problem(422, 'IDEMPOTENCY_KEY_REUSED', `this Idempotency-Key was used for a different ${what}`);

/** A recorded reservation as a reserve answers it (first time or replayed): reserved, or its rejection. */
function answered(view: ReservationView): Reserved {
  if (view.status !== 'REJECTED') return { kind: 'reserved', reservation: view };
  const ids = { reservationId: view.id, ...(view.workflow_id ? { workflowId: view.workflow_id } : {}) };
  throw view.reject_reason === 'OUT_OF_STOCK'
    ? new Problem(409, 'OUT_OF_STOCK', `product ${view.product_id} has fewer than ${view.quantity} unit(s) left`, ids)
    : new Problem(503, 'STOCK_UNAVAILABLE', 'the stock service did not answer in time; nothing was reserved', ids);
}

export function createReservationService(deps: ReservationServiceDeps, { reserver, line }: { reserver: Reserver; line: Line }) {
  const now = deps.now ?? Date.now;

  /** Runs a step whose refusal changed nothing: the key is given back, so the customer's repeat is a new attempt. */
  const keyGivenBackOnRefusal = async <T>(keyed: Keyed | undefined, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      if (keyed && err instanceof Problem) await releaseIdempotencyKey(deps.db, { scope: 'reserve', principal: keyed.principal, key: keyed.key });
      throw err;
    }
  };

  /**
   * Admission, then (admitted) the stock decision, or (people wait, the desk meters, the system is
   * busy) `queued`: the request must take a place in line.
   */
  const admitAndDecide = async (input: ReservationInput, customer: Customer, keyed: Keyed | undefined, repeat: boolean, log: Logger) => {
    const contact = { ...customer.contact, reservationId: input.reservationId };
    const entry = await keyGivenBackOnRefusal(keyed, () => reserver.enter(input, contact, customer.holders, 'direct', repeat));
    if (entry.kind === 'sold-out') {
      log.info('stock decision', { status: 'REJECTED', rejectReason: 'OUT_OF_STOCK', soldOutOnArrival: true });
      throw new Problem(409, 'OUT_OF_STOCK', `product ${input.productId} has fewer than ${input.quantity} unit(s) left`, entry.reservationId ? { reservationId: entry.reservationId } : {});
    }
    if (entry.kind !== 'admitted') return 'queued' as const;
    try {
      return await reserver.decide(input, entry.productName, Boolean(keyed), log);
    } catch (err) {
      // Not started, or not known to be: an unkeyed request is not repeated as itself, so its admission ends here.
      if (!keyed && !(err instanceof Problem)) await reserver.abandon(input.reservationId);
      throw err;
    }
  };

  /** Takes a place in line for a request that could not be decided at once. */
  const enqueue = (input: ReservationInput, customer: Customer, keyed: Keyed | undefined) =>
    keyGivenBackOnRefusal(keyed, () =>
      line.enqueue({ ...customer.contact, reservationId: input.reservationId, productId: input.productId, phoneKey: customer.phoneKey, quantity: input.quantity, fulfilment: input.fulfilment }),
    );

  /** What a keyed request's repeat is answered with: what its first left, a reservation or a place in line (none: not yet). */
  const earlierAnswer = async (reservationId: string): Promise<Reserved | undefined> => {
    const recorded = await getReservationView(deps.db, reservationId);
    if (recorded) return answered(recorded);
    const ticket = await findTicketOfReservation(deps.db, reservationId);
    return ticket ? { kind: 'queued', ticket } : undefined;
  };

  /**
   * Reserves a phone for the actor or, for staff, the customer the request names: the stock decision
   * made, or a place in line. With a `key`, the same request again is answered as the first was and a
   * different one is refused. `reservationId` is `reservationIdFor(actor, key)`'s, given here by a
   * caller that must know it before the answer.
   */
  const reserve = async (actor: Principal, request: ReserveRequest, { key, reservationId = reservationIdFor(actor, key) }: { key?: string; reservationId?: string } = {}): Promise<Reserved> => {
    const customer = await customerOf(deps, actor, request.customer);
    const workflowId = reservationWorkflowId(reservationId);
    const log = deps.log.child({ reservationId, workflowId });
    const input: ReservationInput = {
      reservationId,
      productId: request.productId,
      quantity: request.quantity,
      customerId: customer.customerId,
      fulfilment: request.fulfilment,
      policy: deps.policy,
    };
    const keyed = key ? { principal: actor.sub, key, requestHash: hashOf(request) } : undefined;
    let repeat = false;
    if (keyed) {
      const claim = await claimIdempotencyKey(deps.db, { scope: 'reserve', ...keyed, resourceId: reservationId });
      if (claim.outcome === 'MISMATCH') throw keyReused('reservation');
      repeat = claim.outcome === 'REPLAY';
      const earlier = repeat ? await earlierAnswer(reservationId) : undefined;
      if (earlier) return earlier;
    }
    const decided = await admitAndDecide(input, customer, keyed, repeat, log);
    if (decided === 'queued') return { kind: 'queued', ticket: await enqueue(input, customer, keyed) };
    if (!decided) throw new Problem(503, 'STOCK_UNAVAILABLE', 'the stock decision was not recorded; nothing was reserved', { reservationId, workflowId });
    return answered(decided);
  };

  /** One reservation with its timeline, whoever may see it. */
  const find = (id: string) => getReservationView(deps.db, id);

  /** Reservations matching `filter`, newest first, one page at a time (`cursor`: the last page's `nextCursor`). */
  const list = async (filter: ReservationFilter, page: { limit: number; cursor?: string }) => {
    const found = await listReservations(deps.db, filter, { limit: page.limit, after: page.cursor ? decodeCursor(page.cursor) : undefined });
    return { items: found.items, nextCursor: found.next ? encodeCursor(found.next) : null };
  };

  /** The notifications sent (or queued) to a reservation's customer, oldest first. */
  const notificationsOf = (id: string) => listNotifications(deps.db, id);

  /**
   * Signals a reservation's workflow. One that has ended while the read model still shows the
   * reservation open (an operator's Terminate, a failure) cannot take it: the reconciler settles it.
   */
  const signalWorkflow = async <T>(view: ReservationView, workflowId: string, signal: SignalDefinition<[T?]>, arg: T) => {
    try {
      await deps.temporal.workflow.getHandle(workflowId).signal(signal, arg);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      throw new Problem(409, 'WORKFLOW_ENDED', `reservation ${view.id}'s workflow has ended; the reconciler settles it within minutes`, {
        reservationStatus: view.status,
      });
    }
  };

  /**
   * Asks the reservation's workflow to cancel it; answers the reservation as it is now (CANCELLED
   * comes when the stock is back). With a `key`, a repeat is answered as the first was, also after
   * the reservation has ended.
   */
  const cancel = async (actor: Principal, current: ReservationView, { reason, key }: { reason?: string; key?: string } = {}): Promise<ReservationView> => {
    const id = current.id;
    const keyed = key ? { scope: `cancel:${id}`, principal: actor.sub, key, requestHash: hashOf({ reason }), resourceId: id } : undefined;
    const earlier = keyed ? await findIdempotencyKey(deps.db, keyed) : undefined;
    if (earlier?.outcome === 'MISMATCH') throw keyReused('request');
    if (earlier?.outcome === 'REPLAY') return current;
    // The keyed request's name in the signal: a hash, so neither the key nor who sent it is in history.
    const request = keyed ? hashOf(keyed) : undefined;
    const sentByThis = (arg: unknown) => (arg as CancelRequest | undefined)?.request === request;
    const keep = async () => {
      if (keyed && (await claimIdempotencyKey(deps.db, keyed)).outcome === 'MISMATCH') throw keyReused('request');
      return current;
    };
    // A reservation without a workflow was refused on arrival: it is REJECTED, never cancellable.
    if (!isCancellable(current.status) || !current.workflow_id) {
      // The first attempt's signal went out but its answer and key were lost (the API killed, or the
      // database gone, before the key was kept): the cancel it sent is its own, answered as then.
      if (request && current.workflow_id && (await wasSignalled(deps.temporal, current.workflow_id, cancelSignal.name, sentByThis))) return keep();
      throw new Problem(409, 'NOT_CANCELLABLE', `reservation ${id} is ${current.status}`, { reservationStatus: current.status });
    }
    // The reason is the customer's free text: it stays in PostgreSQL, out of workflow history.
    await recordRequest(deps.db, { reservationId: id, action: 'cancel', by: actor.sub, reason: reason ?? null });
    await signalWorkflow(current, current.workflow_id, cancelSignal, request ? { request } : {});
    // The key stands only for a cancel that was sent, so it is kept after the signal: a refusal, a
    // failure or a crash before this line leaves it unused, and the repeat is tried again (a second
    // cancel signal changes nothing; one that finds the reservation ended finds its signal above).
    const answer = await keep();
    deps.log.info('cancel requested', { reservationId: id, workflowId: current.workflow_id, by: actor.role });
    return answer;
  };

  /** Store staff handed the phone over: the workflow's `complete` signal. `by`: who did (the actor unless told). */
  const complete = async (actor: Principal, current: ReservationView, { by }: { by?: string } = {}): Promise<ReservationView> => {
    const id = current.id;
    if (current.status !== 'CONFIRMED' || !current.workflow_id) {
      throw new Problem(409, 'NOT_COMPLETABLE', `reservation ${id} is ${current.status}; only CONFIRMED can be completed`, { reservationStatus: current.status });
    }
    // Past its hold the workflow expires it whatever the read model shows yet: say so, not 202.
    if (current.hold_until && current.hold_until.getTime() <= now()) {
      throw new Problem(409, 'HOLD_ENDED', `reservation ${id}'s hold ended at ${current.hold_until.toISOString()}; it expires and the stock goes back`, {
        reservationStatus: current.status,
        holdUntil: current.hold_until.toISOString(),
      });
    }
    // Who handed it over is kept in PostgreSQL, not in the signal (and so not in workflow history).
    await recordRequest(deps.db, { reservationId: id, action: 'complete', by: by ?? actor.sub });
    await signalWorkflow(current, current.workflow_id, completeSignal, {});
    return current;
  };

  return { reserve, find, list, notificationsOf, cancel, complete };
}

export type ReservationService = ReturnType<typeof createReservationService>;
