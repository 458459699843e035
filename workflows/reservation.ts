import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  cancelSignal,
  CENTRAL_STORE,
  completeSignal,
  reserveUpdate,
  SearchAttributes,
  stateQuery,
  TERMINAL_STATUSES,
  type AssignedStore,
  type NotificationKind,
  type ReservationInput,
  type ReservationState,
  type ReservationStatus,
} from '../shared/contract.js';

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

type Ending = 'COMPLETED' | 'CANCELLED' | 'EXPIRED';

/**
 * The reservation saga: takes stock (answering the `reserve` update), gets a store from the
 * assignment service (or falls back to central delivery), then waits for `complete`, `cancel`
 * or the end of the hold period; cancel and expiry undo every step taken, in reverse order.
 */
export async function reservationWorkflow(input: ReservationInput): Promise<ReservationState> {
  const { reservationId, policy } = input;
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
  // Undo steps, newest first; each is registered before the step it undoes, and is idempotent.
  const compensations: ((end: 'CANCELLED' | 'EXPIRED') => Promise<unknown>)[] = [];

  /** Moves to a new status: the search attribute now, the read model through an activity. */
  const enter = (status: ReservationStatus): number => {
    state.status = status;
    state.version++;
    upsertSearchAttributes([{ key: SearchAttributes.status, value: status }]);
    return state.version;
  };
  const record = (status: ReservationStatus, notify?: NotificationKind, detail?: string | null) =>
    durable.recordTransition({
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
      CancellationScope.nonCancellable(() => notifier.deliverNotifications({ reservationId })),
    );
  };

  setHandler(stateQuery, () => state);
  setHandler(reserveUpdate, async () => {
    await condition(() => decided);
    return state;
  });
  const ignore = (name: string, reason: string | null) => {
    state.ignoredSignals.push({ name, status: state.status, reason });
    log.info(`${name} signal ignored`, { status: state.status });
  };
  setHandler(cancelSignal, (request) => {
    const reason = request?.reason ?? null;
    if (TERMINAL_STATUSES.has(state.status) || cancelRequested || completeRequested) return ignore('cancel', reason);
    cancelRequested = true;
    state.cancelReason = reason;
  });
  setHandler(completeSignal, (request) => {
    if (state.status !== 'CONFIRMED' || cancelRequested || completeRequested) return ignore('complete', request?.by ?? null);
    completeRequested = true;
  });

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
    if (decision.reason === 'STOCK_UNAVAILABLE') {
      // The outcome is unknown: an attempt may have committed before timing out, or may still.
      await CancellationScope.nonCancellable(() => durable.abandonReservation({ input, version: enter('REJECTED') }));
    }
    decided = true;
    return finish();
  }
  state.status = 'ACCEPTED';
  upsertSearchAttributes([{ key: SearchAttributes.status, value: 'ACCEPTED' }]);
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
      await durable.completeAssignment({ reservationId });
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
  async function assignStore(): Promise<AssignedStore | undefined> {
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
    const attempt = scope.run(() => assigner.assignAgency({ reservationId }));
    const outcome = await Promise.race([
      attempt.then(
        (store) => ({ store }) as const,
        (error: unknown) => ({ error }) as const,
      ),
      condition(() => cancelRequested).then(() => ({ cancelled: true }) as const),
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
    background.push(CancellationScope.nonCancellable(() => durable.releaseAssignment({ reservationId })));
    return { agencyId: CENTRAL_STORE.agencyId, agencyName: CENTRAL_STORE.agencyName, distanceKm: null, fallback: true };
  }

  /** Durable timers for the hold period: a reminder before its end, then expiry. */
  async function hold(): Promise<Ending> {
    const settled = () => cancelRequested || completeRequested;
    const holdEnds = Date.parse(state.holdUntil!);
    const remindAt = holdEnds - policy.reminderBeforeMs;
    if (policy.reminderBeforeMs > 0 && remindAt > Date.now()) {
      if (!(await condition(settled, remindAt - Date.now()))) {
        await durable.remindCustomer({ reservationId });
        deliver();
      }
    }
    if (!settled() && !(await condition(settled, Math.max(1, holdEnds - Date.now())))) return 'EXPIRED';
    return cancelRequested ? 'CANCELLED' : 'COMPLETED';
  }
}
