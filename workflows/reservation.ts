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
  reserveUpdate,
  SearchAttributes,
  stateQuery,
  TERMINAL_STATUSES,
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
const durable = proxyActivities<Pick<Activities, 'releaseStock' | 'recordStatus'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The reservation saga: decides on stock, then waits for a cancel that it compensates. */
export async function reservationWorkflow(input: ReservationInput): Promise<ReservationState> {
  const state: ReservationState = {
    reservationId: input.reservationId,
    status: 'PENDING',
    productId: input.productId,
    quantity: input.quantity,
    rejectReason: null,
    cancelReason: null,
    ignoredSignals: [],
  };
  let decided = false;
  let cancelRequested = false;

  const setStatus = (status: ReservationStatus) => {
    state.status = status;
    upsertSearchAttributes([{ key: SearchAttributes.status, value: status }]);
  };

  setHandler(stateQuery, () => state);
  setHandler(reserveUpdate, async () => {
    await condition(() => decided);
    return state;
  });
  setHandler(cancelSignal, (request) => {
    const reason = request?.reason ?? null;
    if (TERMINAL_STATUSES.has(state.status) || cancelRequested) {
      state.ignoredSignals.push({ name: 'cancel', status: state.status, reason });
      log.info('cancel signal ignored', { status: state.status });
      return;
    }
    cancelRequested = true;
    state.cancelReason = reason;
  });

  // The decision runs to completion even if the workflow is cancelled: an abandoned attempt could
  // still commit, and only a finished decision tells the compensation what to undo.
  const decision = await CancellationScope.nonCancellable(() => stock.reserveStock(input)).catch((err) => {
    log.warn('stock decision failed; rejecting', { error: String(err) });
    return { accepted: false as const, reason: 'STOCK_UNAVAILABLE' as const };
  });
  if (!decision.accepted) {
    state.rejectReason = decision.reason;
    if (decision.reason === 'STOCK_UNAVAILABLE') {
      // The outcome is unknown (an attempt may have committed before timing out): undo any
      // stock taken, then mark the record rejected. Both are no-ops when nothing was written.
      await CancellationScope.nonCancellable(async () => {
        await durable.releaseStock({ reservationId: input.reservationId });
        await durable.recordStatus({ reservationId: input.reservationId, status: 'REJECTED' });
      });
    }
    setStatus('REJECTED');
    decided = true;
    await condition(allHandlersFinished);
    return state;
  }
  setStatus('ACCEPTED');
  decided = true;

  let workflowCancelled: unknown;
  try {
    await condition(() => cancelRequested);
  } catch (err) {
    // A Temporal cancellation (Web UI "Cancel", `temporal workflow cancel`) is a cancel too:
    // compensate, then end the execution as cancelled.
    if (!isCancellation(err)) throw err;
    workflowCancelled = err;
    state.cancelReason ??= 'workflow cancelled by an operator';
  }
  await CancellationScope.nonCancellable(() => compensate(input, state, setStatus));
  if (workflowCancelled) throw workflowCancelled;
  await condition(allHandlersFinished);
  return state;
}

async function compensate(
  input: ReservationInput,
  state: ReservationState,
  setStatus: (s: ReservationStatus) => void,
): Promise<void> {
  const { reservationId } = input;
  setStatus('CANCEL_REQUESTED');
  await durable.recordStatus({ reservationId, status: 'CANCEL_REQUESTED', cancelReason: state.cancelReason });
  await durable.releaseStock({ reservationId });
  await durable.recordStatus({ reservationId, status: 'CANCELLED', cancelReason: state.cancelReason });
  setStatus('CANCELLED');
}
