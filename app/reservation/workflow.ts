import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../../workers/activities.js';
import {
  cancelSignal,
  CENTRAL_STORE,
  completeSignal,
  reassignSignal,
  reserveUpdate,
  SearchAttributes,
  stateQuery,
  TERMINAL_STATUSES,
  type AssignedStore,
  type ReservationInput,
  type ReservationState,
  type ReservationStatus,
} from './contract.js';
import type { Confirmation, ConfirmationRequest } from '../assignment/activities.js';

// The stock decision runs inside the first workflow task, so the customer's answer costs one
// workflow task and no task-queue round trip. Retried fast, given up (as a rejection) after 30 s.
const decision = proxyLocalActivities<Pick<Activities, 'reserveStock'>>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
});

// PostgreSQL bookkeeping, run next to the workflow task: stock back, transitions, reminders.
// Idempotent, and retried without limit because compensations must eventually succeed.
const bookkeeping = proxyLocalActivities<Pick<Activities, 'releaseStock' | 'recordTransition' | 'remindCustomer' | 'abandonReservation'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Calls to the assignment service, which may be down for long: ordinary activities (their retries
// are visible in the Web UI and survive the worker), retried without limit.
const storeCalls = proxyActivities<Pick<Activities, 'releaseAssignment' | 'completeAtStore'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

type Ending = 'COMPLETED' | 'CANCELLED' | 'EXPIRED';

/** What one reservation's workflow keeps between its steps. */
interface Saga {
  readonly input: ReservationInput;
  /** What the `state` query and the `reserve` update answer. */
  readonly state: ReservationState;
  decided: boolean;
  requested: { cancel: boolean; complete: boolean; reassign: boolean };
  /** Assignment rounds started (the first, then one per operator re-drive); each has its own key. */
  rounds: number;
  /** The round whose store holds the reservation. */
  round: number;
  reminded: boolean;
  /** Steps the workflow must see finished before it ends, but that nothing else waits for. */
  background: Promise<unknown>[];
}

/**
 * The reservation saga: takes stock inside the first workflow task (answering the `reserve`
 * update), gets a store from the assignment service (or falls back to central delivery), then
 * holds until `complete`, `cancel` or the end of the hold period. Cancel and expiry put the stock
 * back at once and release every store slot taken. The read model and the customer's
 * notifications are written by the activities in the same transactions as each change; the
 * Python notifier's drain, woken by each row queued, sends them: the workflow never waits for it.
 */
export async function reservationWorkflow(input: ReservationInput): Promise<ReservationState> {
  const saga = newSaga(input);
  listen(saga);
  if (!(await decideStock(saga))) return finish(saga);

  let ending: Ending = 'CANCELLED';
  let workflowCancelled: unknown;
  try {
    if (!saga.requested.cancel && (await assign(saga))) ending = await hold(saga);
  } catch (err) {
    // A Temporal cancellation (Web UI "Cancel", `temporal workflow cancel`) is a cancel too:
    // compensate, then end the execution as cancelled.
    if (!isCancellation(err)) throw err;
    workflowCancelled = err;
    saga.state.cancelReason ??= 'workflow cancelled by an operator';
  }
  await CancellationScope.nonCancellable(() => (ending === 'COMPLETED' ? complete(saga) : compensate(saga, ending)));
  if (workflowCancelled) {
    await CancellationScope.nonCancellable(() => Promise.all(saga.background));
    throw workflowCancelled;
  }
  return finish(saga);
}

function newSaga(input: ReservationInput): Saga {
  return {
    input,
    state: {
      reservationId: input.reservationId,
      status: 'PENDING',
      productId: input.productId,
      quantity: input.quantity,
      fulfilment: input.fulfilment,
      store: null,
      holdUntil: null,
      rejectReason: null,
      cancelReason: null,
      version: 0,
      ignoredSignals: [],
    },
    decided: false,
    requested: { cancel: false, complete: false, reassign: false },
    rounds: 0,
    round: 1,
    reminded: false,
    background: [],
  };
}

async function finish(saga: Saga): Promise<ReservationState> {
  await Promise.all(saga.background);
  await condition(allHandlersFinished);
  return saga.state;
}

/** The read model's next version: every write the workflow asks for gets a higher one. */
const nextVersion = (saga: Saga) => ++saga.state.version;

/** Shows a new status (and store) to operators: search attributes and the Web UI's current details. */
function show(saga: Saga, status: ReservationStatus) {
  const { state } = saga;
  state.status = status;
  const updates: SearchAttributeUpdatePair[] = [{ key: SearchAttributes.status, value: status }];
  if (state.store) updates.push({ key: SearchAttributes.storeId, value: state.store.storeId });
  upsertSearchAttributes(updates);
  describe(saga);
}

function describe({ state }: Saga) {
  const store = state.store ? `${state.store.storeName} (${state.store.storeId})${state.store.fallback ? ', central delivery' : ''}` : 'none yet';
  setCurrentDetails(
    [`**${state.status}**`, `store: ${store}`, `fulfilment: ${state.fulfilment}`, state.holdUntil ? `hold until: ${state.holdUntil}` : null]
      .filter(Boolean)
      .join('  \n'),
  );
}

/** The `state` query, the `reserve` update and the three operator signals. */
function listen(saga: Saga) {
  describe(saga);
  setHandler(stateQuery, () => saga.state, { description: 'The reservation as the workflow knows it: status, store, hold deadline, ignored signals' });
  setHandler(reserveUpdate, () => answerReserve(saga), { description: 'Sent once by the API with the start: answers with the stock decision' });
  setHandler(cancelSignal, (request) => requestCancel(saga, request?.reason ?? null), {
    description: 'Cancel before pickup: restores the stock at once and releases the store slot. Input: {"reason": "…"}',
  });
  setHandler(completeSignal, (request) => requestComplete(saga, request?.by ?? null), {
    description: 'Phone handed over at the store (CONFIRMED only). Input: {"by": "<staff id>"}',
  });
  setHandler(reassignSignal, (request) => requestReassign(saga, request?.by ?? null), {
    description: 'Re-drive a central-delivery fallback: ask the assignment service again. Input: {"by": "<operator id>"}',
  });
}

/** The `reserve` update's answer: the reservation once the stock is decided. */
async function answerReserve(saga: Saga): Promise<ReservationState> {
  await condition(() => saga.decided);
  return saga.state;
}

/** A cancel or a hand-over is already being carried out: later signals are ignored. */
const settling = ({ requested }: Saga) => requested.cancel || requested.complete;

/** Kept in the state (the `state` query shows it), so operators see why their signal did nothing. */
function ignore({ state }: Saga, name: string, reason: string | null) {
  state.ignoredSignals.push({ name, status: state.status, reason });
  log.info(`${name} signal ignored`, { status: state.status });
}

function requestCancel(saga: Saga, reason: string | null) {
  const { state } = saga;
  if (TERMINAL_STATUSES.has(state.status) || settling(saga)) return ignore(saga, 'cancel', reason);
  saga.requested.cancel = true;
  state.cancelReason = reason;
}

function requestComplete(saga: Saga, by: string | null) {
  const { state } = saga;
  // The store call records the confirmation before the workflow hears its result: a hand-over the
  // read model allowed in between counts, and is applied once the workflow has confirmed too.
  const confirming = state.status === 'ACCEPTED' && saga.rounds > 0;
  if ((state.status !== 'CONFIRMED' && !confirming) || settling(saga)) return ignore(saga, 'complete', by);
  saga.requested.complete = true;
}

/** Only a central-delivery fallback is re-driven, and one round at a time. */
function requestReassign(saga: Saga, by: string | null) {
  const { state, requested } = saga;
  const fellBack = state.status === 'CONFIRMED' && state.store?.fallback === true;
  if (!fellBack || settling(saga) || requested.reassign) return ignore(saga, 'reassign', by);
  requested.reassign = true;
}

/**
 * 1. Stock. The decision runs to completion even if the workflow is cancelled: an abandoned
 * attempt could still commit, and only a finished decision tells the compensation what to undo.
 */
async function decideStock(saga: Saga): Promise<boolean> {
  const { input, state } = saga;
  const outcome = await stockDecision(input);
  state.version = 1; // the decision wrote version 1 of the read model
  if (outcome.accepted) {
    show(saga, 'ACCEPTED');
    saga.decided = true;
    return true;
  }
  state.rejectReason = outcome.reason;
  show(saga, 'REJECTED');
  if (outcome.reason === 'STOCK_UNAVAILABLE') {
    // The outcome is unknown: an attempt may have committed before timing out, or may still.
    await CancellationScope.nonCancellable(() => bookkeeping.abandonReservation({ input, version: nextVersion(saga) }));
  }
  saga.decided = true;
  return false;
}

/** The stock decision; one that never came (the database down for 30 s) is a rejection. */
function stockDecision(input: ReservationInput) {
  return CancellationScope.nonCancellable(() => decision.reserveStock(input)).catch((err) => {
    log.warn('stock decision failed; rejecting', { error: String(err) });
    return { accepted: false as const, reason: 'STOCK_UNAVAILABLE' as const };
  });
}

/**
 * 2. A store: the assignment service's, or the central store for delivery once the deadline has
 * passed. False when a cancel arrived first.
 */
async function assign(saga: Saga): Promise<boolean> {
  const found = await askForStore(saga, ++saga.rounds, 'CONFIRMED', null);
  if (found === 'interrupted') return false;
  if (found !== 'none') {
    confirmAt(saga, found);
    return true;
  }
  confirmAt(saga, centralDelivery(saga));
  await recordConfirmation(saga, 'assignment deadline passed: central store delivery', true);
  return true;
}

/** The fallback once the deadline has passed: the central store delivers, from now for a hold period. */
function centralDelivery(saga: Saga): Confirmation & { fulfilment: 'DELIVERY' } {
  const store: AssignedStore = { storeId: CENTRAL_STORE.id, storeName: CENTRAL_STORE.name, distanceKm: null, fallback: true };
  const holdUntil = new Date(Date.now() + saga.input.policy.holdPeriodMs).toISOString();
  return { store, holdUntil, fulfilment: 'DELIVERY' };
}

function confirmAt(saga: Saga, at: Confirmation & { fulfilment?: ReservationInput['fulfilment'] }) {
  saga.state.store = at.store;
  saga.state.holdUntil = at.holdUntil;
  saga.state.fulfilment = at.fulfilment ?? saga.input.fulfilment;
  show(saga, 'CONFIRMED');
}

/** Writes the confirmation the workflow decided itself (central delivery), with a version above any the activity used. */
function recordConfirmation(saga: Saga, detail: string, notify: boolean) {
  const { state } = saga;
  return bookkeeping.recordTransition({
    reservationId: state.reservationId,
    transition: { status: 'CONFIRMED', version: nextVersion(saga), store: state.store, fulfilment: state.fulfilment, holdUntil: state.holdUntil, detail },
    ...(notify ? { notify: 'CONFIRMED' as const } : {}),
  });
}

type Found = Confirmation | 'none' | 'interrupted';

/**
 * One assignment round, retried (with fast failures while the breaker is open) until the deadline.
 * The activity records the confirmation itself, in the transaction that takes the store.
 */
async function askForStore(saga: Saga, round: number, notify: ConfirmationRequest['notify'], detail: string | null): Promise<Found> {
  const { input } = saga;
  const key = roundKey(input.reservationId, round);
  const confirm: ConfirmationRequest = { version: nextVersion(saga), fulfilment: input.fulfilment, holdPeriodMs: input.policy.holdPeriodMs, notify, detail };
  const scope = new CancellationScope();
  const attempt = scope.run(() => assignerUntilDeadline(input).assignStore({ ...key, confirm }));
  const outcome = await Promise.race([settledAs(attempt), interruption(saga, round)]);
  if ('interrupted' in outcome) {
    scope.cancel();
    // A late attempt may still take a store and record it: every path from here writes a higher version.
    await attempt.catch(() => undefined);
    return 'interrupted';
  }
  if ('found' in outcome) return outcome.found;
  if (isCancellation(outcome.error)) throw outcome.error;
  return giveUpRound(saga, round, key, outcome.error);
}

/** Each round has its own key with the assignment service; the first keeps the bare reservation id. */
const roundKey = (reservationId: string, round: number) => ({ reservationId, ...(round > 1 ? { round } : {}) });

function assignerUntilDeadline(input: ReservationInput) {
  return proxyActivities<Pick<Activities, 'assignStore'>>({
    startToCloseTimeout: '10 seconds',
    scheduleToCloseTimeout: input.policy.assignmentDeadlineMs,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: ['AssignmentReleased', 'AssignmentRejected'],
    },
  });
}

const settledAs = (attempt: Promise<Confirmation>) =>
  attempt.then(
    (found) => ({ found }) as const,
    (error: unknown) => ({ error }) as const,
  );

/** A cancel ends any round; a hand-over ends an operator's re-drive too (one during the first round waits for its result). */
const interruption = (saga: Saga, round: number) =>
  condition(() => saga.requested.cancel || (round > 1 && saga.requested.complete)).then(() => ({ interrupted: true }) as const);

function giveUpRound(saga: Saga, round: number, key: ReturnType<typeof roundKey>, error: unknown): 'none' {
  log.warn('no store assigned before the deadline', { round, error: String(error) });
  // A late attempt may still have claimed a slot somewhere: free it without making anyone wait
  // for a service that may well be down.
  saga.background.push(CancellationScope.nonCancellable(() => storeCalls.releaseAssignment(key)));
  return 'none';
}

/**
 * 3. Durable timers for the hold period: a reminder before its end, then expiry. An operator's
 * `reassign` re-drives a central-delivery fallback and, if a store takes it, restarts the period.
 */
async function hold(saga: Saga): Promise<Ending> {
  const { requested, state, input } = saga;
  const settled = () => requested.cancel || requested.complete;
  const woken = () => settled() || requested.reassign;
  for (;;) {
    const holdEnds = Date.parse(state.holdUntil!);
    const remindAt = holdEnds - input.policy.reminderBeforeMs;
    if (!saga.reminded && input.policy.reminderBeforeMs > 0 && remindAt > Date.now()) {
      if (!(await condition(woken, remindAt - Date.now()))) {
        saga.reminded = true;
        await bookkeeping.remindCustomer({ reservationId: input.reservationId });
      }
    }
    if (!woken() && !(await condition(woken, Math.max(1, holdEnds - Date.now())))) return 'EXPIRED';
    if (settled()) return requested.cancel ? 'CANCELLED' : 'COMPLETED';
    try {
      await redrive(saga);
    } finally {
      // Only now: a `reassign` that arrives while a round runs is ignored, not queued.
      requested.reassign = false;
    }
  }
}

/** One more round with the assignment service; on success the reservation moves to that store. */
async function redrive(saga: Saga): Promise<void> {
  // A fresh key each round: an earlier failed round's key is released (tombstoned) for good.
  const round = ++saga.rounds;
  const found = await askForStore(saga, round, 'REASSIGNED', 're-driven by an operator');
  if (found === 'interrupted') return; // the ending writes a higher version than the round's
  if (found === 'none') {
    log.info('re-drive found no store; the reservation stays with central delivery', { round });
    // Over any late write of the round: the read model keeps central delivery.
    await recordConfirmation(saga, 're-drive found no store: central store delivery stays', false);
    return;
  }
  saga.round = round;
  saga.reminded = false;
  confirmAt(saga, found);
}

/** 4a. Handed over: the store's slot is completed (freed), the stock stays sold. */
async function complete(saga: Saga): Promise<void> {
  const { state } = saga;
  const version = nextVersion(saga);
  if (state.store?.fallback) {
    // Central delivery holds no store slot.
    await bookkeeping.recordTransition({ reservationId: state.reservationId, transition: { status: 'COMPLETED', version }, notify: 'COMPLETED' });
  } else {
    await storeCalls.completeAtStore({ ...roundKey(state.reservationId, saga.round), version });
  }
  show(saga, 'COMPLETED');
}

/**
 * 4b. Cancelled or expired: the stock goes back at once (with the final status, in one
 * transaction) while every assignment round's slot is released, each exactly once and as soon as
 * the assignment service can (a no-op for a round that took none).
 */
async function compensate(saga: Saga, ending: 'CANCELLED' | 'EXPIRED'): Promise<void> {
  const { state } = saga;
  const reservationId = state.reservationId;
  const slots = Array.from({ length: saga.rounds }, (_, i) => storeCalls.releaseAssignment(roundKey(reservationId, i + 1)));
  const detail = ending === 'CANCELLED' ? state.cancelReason : null;
  await bookkeeping.releaseStock({ reservationId, final: { status: ending, version: nextVersion(saga), cancelReason: state.cancelReason, detail } });
  show(saga, ending);
  await Promise.all(slots);
}
