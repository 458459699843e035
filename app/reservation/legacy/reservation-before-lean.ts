/**
 * FROZEN: the reservation saga as it ran before `patched('lean-reservation')`. Reservations started
 * before that change carry no `lean-reservation` marker in their history; `reservationWorkflow`
 * sends them here, and they must replay this code command for command (checked by replaying
 * test/histories/before-lean-reservation/). Fix imports only; never restructure the body (renamed
 * contract names reach it under their old ones through ./contract.ts).
 *
 * When it can go: once no open execution lacks the marker. Temporal records each patch a run took
 * in the TemporalChangeVersion search attribute, so this count must say 0:
 *
 *   temporal workflow count --query 'WorkflowType="reservationWorkflow" AND ExecutionStatus="Running"
 *     AND (TemporalChangeVersion IS NULL OR TemporalChangeVersion != "lean-reservation")'
 *
 * (it reaches 0 at the latest one hold period plus one assignment deadline after the rollout that
 * added the patch). Then, in one change: replace `if (!patched(LEAN_RESERVATION)) return …` in
 * app/reservation/workflow.ts by `deprecatePatch(LEAN_RESERVATION)`, and delete this folder with
 * test/histories/before-lean-reservation/ and before-local-bookkeeping/ (runs that took this code).
 * Once no open execution was started before that change is deployed, remove `deprecatePatch`.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../../../workers/activities.js';
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
  type NotificationKind,
  type ReservationInput,
  type ReservationState,
  type ReservationStatus,
} from './contract.js';

// The stock decision is answered to a waiting customer: retry fast, and give up (as a rejection)
// after a bounded time rather than leave the request hanging.
const stock = proxyActivities<Pick<Activities, 'reserveStock'>>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
});

// Compensations and bookkeeping must eventually succeed: retry without an attempt limit.
const durable = proxyActivities<
  Pick<
    Activities,
    'releaseStock' | 'abandonReservation' | 'recordTransition' | 'remindCustomer' | 'releaseAssignment' | 'completeAssignment'
  >
>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// A webhook may be down for long: keep trying, but back off to every 10 minutes.
const notifier = proxyActivities<Pick<Activities, 'deliverNotifications'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

// The same bookkeeping as local activities: run by the worker that runs the workflow task, with
// no task-queue round trip and one history event instead of three. Idempotent like the rest.
const localDurable = proxyLocalActivities<Pick<Activities, 'recordTransition' | 'remindCustomer'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const localNotifier = proxyLocalActivities<Pick<Activities, 'deliverNotifications'>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

type Ending = 'COMPLETED' | 'CANCELLED' | 'EXPIRED';

/**
 * The reservation saga as it ran before the `lean-reservation` change, kept unchanged for the
 * reservations started before it (they replay and continue here; see app/reservation/workflow.ts).
 * Delete it, with test/histories/before-lean-reservation/, once none of them is running.
 */
export async function reservationWorkflowBeforeLean(input: ReservationInput): Promise<ReservationState> {
  const { reservationId, policy } = input;
  // Reservations started before this change keep their bookkeeping as normal activities.
  const local = patched('local-bookkeeping');
  const bookkeeping = local ? localDurable : durable;
  const notifications = local ? localNotifier : notifier;
  const state: ReservationState = {
    reservationId,
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
  };
  let decided = false;
  let cancelRequested = false;
  let completeRequested = false;
  let reassignRequested = false;
  // Assignment rounds: 1, then a new one for each operator re-drive (see assignmentKey); `round`
  // is the one whose store holds the reservation, `rounds` how many were started.
  let round = 1;
  let rounds = 1;
  let reminded = false;
  // Undo steps, newest first; each is registered before the step it undoes, and is idempotent.
  const compensations: ((end: 'CANCELLED' | 'EXPIRED') => Promise<unknown>)[] = [];

  /** Moves to a new status: the search attribute now, the read model through an activity. */
  const enter = (status: ReservationStatus): number => {
    state.status = status;
    state.version++;
    upsertSearchAttributes([{ key: SearchAttributes.status, value: status }]);
    describe();
    return state.version;
  };
  /** The Web UI's "current details": status, store and hold deadline, for operators (no personal data). */
  const describe = () => {
    const store = state.store ? `${state.store.agencyName} (${state.store.agencyId})${state.store.fallback ? ', central delivery' : ''}` : 'none yet';
    setCurrentDetails(
      [`**${state.status}**`, `store: ${store}`, `fulfilment: ${state.fulfilment}`, state.holdUntil ? `hold until: ${state.holdUntil}` : null]
        .filter(Boolean)
        .join('  \n'),
    );
  };
  const record = (status: ReservationStatus, notify?: NotificationKind, detail?: string | null) =>
    bookkeeping.recordTransition({
      reservationId,
      transition: {
        status,
        version: enter(status),
        store: state.store,
        fulfilment: state.fulfilment,
        holdUntil: state.holdUntil,
        cancelReason: state.cancelReason,
        detail: detail ?? null,
      },
      notify,
    });

  // Steps that must finish before the workflow does, but that nothing else waits for.
  const background: Promise<unknown>[] = [];
  // Notifications go out one delivery at a time, in order, without holding up the saga.
  let deliveries: Promise<unknown> = Promise.resolve();
  const deliver = () => {
    deliveries = deliveries.then(() =>
      CancellationScope.nonCancellable(() => notifications.deliverNotifications({ reservationId })),
    );
  };

  describe();
  setHandler(stateQuery, () => state, { description: 'The reservation as the workflow knows it: status, store, hold deadline, ignored signals' });
  setHandler(
    reserveUpdate,
    async () => {
      await condition(() => decided);
      return state;
    },
    { description: 'Sent once by the API with the start: answers with the stock decision' },
  );
  const ignore = (name: string, reason: string | null) => {
    state.ignoredSignals.push({ name, status: state.status, reason });
    log.info(`${name} signal ignored`, { status: state.status });
  };
  setHandler(
    cancelSignal,
    (request) => {
      const reason = request?.reason ?? null;
      if (TERMINAL_STATUSES.has(state.status) || cancelRequested || completeRequested) return ignore('cancel', reason);
      cancelRequested = true;
      state.cancelReason = reason;
    },
    { description: 'Cancel before pickup: undoes the store assignment, then restores the stock. Input: {"reason": "…"}' },
  );
  setHandler(
    completeSignal,
    (request) => {
      if (state.status !== 'CONFIRMED' || cancelRequested || completeRequested) return ignore('complete', request?.by ?? null);
      completeRequested = true;
    },
    { description: 'Phone handed over at the store (CONFIRMED only). Input: {"by": "<staff id>"}' },
  );
  setHandler(
    reassignSignal,
    (request) => {
      const fellBack = state.status === 'CONFIRMED' && state.store?.fallback === true;
      if (!fellBack || cancelRequested || completeRequested || reassignRequested) return ignore('reassign', request?.by ?? null);
      reassignRequested = true;
    },
    { description: 'Re-drive a central-delivery fallback: ask the assignment service again. Input: {"by": "<operator id>"}' },
  );

  const finish = async () => {
    deliver();
    await Promise.all([deliveries, ...background]);
    await condition(allHandlersFinished);
    return state;
  };

  // 1. Stock. The decision runs to completion even if the workflow is cancelled: an abandoned
  // attempt could still commit, and only a finished decision tells the compensation what to undo.
  compensations.unshift((end) =>
    durable.releaseStock({
      reservationId,
      final: { status: end, version: enter(end), cancelReason: state.cancelReason, detail: state.cancelReason },
    }),
  );
  const decision = await CancellationScope.nonCancellable(() => stock.reserveStock(input)).catch((err) => {
    log.warn('stock decision failed; rejecting', { error: String(err) });
    return { accepted: false as const, reason: 'STOCK_UNAVAILABLE' as const };
  });
  state.version = 1; // the decision wrote version 1 of the read model
  if (!decision.accepted) {
    state.rejectReason = decision.reason;
    state.status = 'REJECTED';
    upsertSearchAttributes([{ key: SearchAttributes.status, value: 'REJECTED' }]);
    describe();
    if (decision.reason === 'STOCK_UNAVAILABLE') {
      // The outcome is unknown: an attempt may have committed before timing out, or may still.
      await CancellationScope.nonCancellable(() => durable.abandonReservation({ input, version: enter('REJECTED') }));
    }
    decided = true;
    return finish();
  }
  state.status = 'ACCEPTED';
  upsertSearchAttributes([{ key: SearchAttributes.status, value: 'ACCEPTED' }]);
  describe();
  decided = true;
  deliver();

  let ending: Ending = 'CANCELLED';
  let workflowCancelled: unknown;
  try {
    // 2. Store assignment, abandoned as soon as a cancel arrives.
    if (!cancelRequested) compensations.unshift(() => durable.releaseAssignment({ reservationId }));
    const store = cancelRequested ? undefined : await assignStore();
    if (store) {
      state.store = store;
      state.fulfilment = store.fallback ? 'DELIVERY' : input.fulfilment;
      state.holdUntil = new Date(Date.now() + policy.holdPeriodMs).toISOString();
      upsertSearchAttributes([{ key: SearchAttributes.agencyId, value: store.agencyId }]);
      await record('CONFIRMED', 'CONFIRMED', store.fallback ? 'assignment deadline passed: central store delivery' : null);
      deliver();
      // 3. Hold until handed over, cancelled or expired.
      ending = await hold();
    }
  } catch (err) {
    // A Temporal cancellation (Web UI "Cancel", `temporal workflow cancel`) is a cancel too:
    // compensate, then end the execution as cancelled.
    if (!isCancellation(err)) throw err;
    workflowCancelled = err;
    cancelRequested = true;
    state.cancelReason ??= 'workflow cancelled by an operator';
    ending = 'CANCELLED';
  }

  await CancellationScope.nonCancellable(async () => {
    if (ending === 'COMPLETED') {
      await durable.completeAssignment({ reservationId, ...(round > 1 ? { round } : {}) });
      await record('COMPLETED', 'COMPLETED');
      return;
    }
    if (ending === 'CANCELLED') await record('CANCEL_REQUESTED');
    for (const undo of compensations) await undo(ending);
  });
  if (workflowCancelled) {
    deliver();
    await CancellationScope.nonCancellable(() => Promise.all([deliveries, ...background]));
    throw workflowCancelled;
  }
  return finish();

  /** The assigned store, the central-delivery fallback after the deadline, or undefined on cancel. */
  async function assignStore(attemptRound = 1): Promise<AssignedStore | undefined> {
    const key = attemptRound > 1 ? { reservationId, round: attemptRound } : { reservationId };
    // Retried with backoff (and fast failures while the breaker is open) until the deadline.
    const assigner = proxyActivities<Pick<Activities, 'assignAgency'>>({
      startToCloseTimeout: '10 seconds',
      scheduleToCloseTimeout: policy.assignmentDeadlineMs,
      retry: {
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: '30 seconds',
        nonRetryableErrorTypes: ['AssignmentReleased', 'AssignmentRejected'],
      },
    });
    const scope = new CancellationScope();
    const attempt = scope.run(() => assigner.assignAgency(key));
    const outcome = await Promise.race([
      attempt.then(
        (store) => ({ store }) as const,
        (error: unknown) => ({ error }) as const,
      ),
      // A hand-over (complete) can only arrive during an operator's re-drive, and ends it too.
      condition(() => cancelRequested || completeRequested).then(() => ({ cancelled: true }) as const),
    ]);
    if ('cancelled' in outcome) {
      scope.cancel();
      await attempt.catch(() => undefined);
      return undefined;
    }
    if ('store' in outcome) return outcome.store;
    if (isCancellation(outcome.error)) throw outcome.error;
    log.warn('no store assigned before the deadline; confirming for central delivery', { error: String(outcome.error) });
    // A late attempt may still have claimed a slot somewhere: free it, without making the
    // confirmation wait for a service that may well be down.
    background.push(CancellationScope.nonCancellable(() => durable.releaseAssignment(key)));
    return { agencyId: CENTRAL_STORE.agencyId, agencyName: CENTRAL_STORE.agencyName, distanceKm: null, fallback: true };
  }

  /**
   * Durable timers for the hold period: a reminder before its end, then expiry. An operator's
   * `reassign` re-drives a central-delivery fallback and, if a store takes it, restarts the period.
   */
  async function hold(): Promise<Ending> {
    const settled = () => cancelRequested || completeRequested;
    const woken = () => settled() || reassignRequested;
    for (;;) {
      const holdEnds = Date.parse(state.holdUntil!);
      const remindAt = holdEnds - policy.reminderBeforeMs;
      if (!reminded && policy.reminderBeforeMs > 0 && remindAt > Date.now()) {
        if (!(await condition(woken, remindAt - Date.now()))) {
          reminded = true;
          await bookkeeping.remindCustomer({ reservationId });
          deliver();
        }
      }
      if (!woken() && !(await condition(woken, Math.max(1, holdEnds - Date.now())))) return 'EXPIRED';
      if (settled()) return cancelRequested ? 'CANCELLED' : 'COMPLETED';
      await reassign();
    }
  }

  /** One more round with the assignment service; on success the reservation moves to that store. */
  async function reassign(): Promise<void> {
    try {
      await reassignOnce();
    } finally {
      // Only now: a `reassign` that arrives while this round runs is ignored, not queued.
      reassignRequested = false;
    }
  }
  async function reassignOnce(): Promise<void> {
    // A fresh key each round: an earlier failed round's key is released (tombstoned) for good.
    const next = ++rounds;
    compensations.unshift(() => durable.releaseAssignment({ reservationId, round: next }));
    const store = await assignStore(next);
    // Handed over meanwhile: a late attempt of this round may still have claimed a slot.
    if (!store && completeRequested) background.push(CancellationScope.nonCancellable(() => durable.releaseAssignment({ reservationId, round: next })));
    if (!store || store.fallback) {
      log.info('re-drive found no store; the reservation stays with central delivery', { round: next });
      return;
    }
    round = next;
    // The central store held no slot; the store's slot is now this reservation's.
    state.store = store;
    state.fulfilment = input.fulfilment;
    state.holdUntil = new Date(Date.now() + policy.holdPeriodMs).toISOString();
    reminded = false;
    upsertSearchAttributes([{ key: SearchAttributes.agencyId, value: store.agencyId }]);
    await record('CONFIRMED', 'REASSIGNED', `re-driven by an operator: assigned to ${store.agencyName}`);
    deliver();
  }
}
