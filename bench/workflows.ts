/**
 * Baselines for the benchmark, run by a worker inside the bench process with activities that do
 * nothing: a bare workflow (what Temporal itself costs) and a skeleton with the shape of our workflow.
 */
import { condition, defineSignal, defineUpdate, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { SearchAttributes } from '../app/reservation/contract.js';

export interface BenchActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });

export const skeletonReserve = defineUpdate<string>('reserve');
export const skeletonCancel = defineSignal('cancel');
/** The store the skeleton "assigns": a fixed value, its assignment activity does nothing. */
export const SKELETON_STORE = 'skeleton-store';

/** Start, one no-op activity, end. */
export async function bareWorkflow(): Promise<void> {
  await noop();
}

/**
 * The shape of reservationWorkflow up to the hold, with activities that do nothing. It is started
 * by Update-with-Start carrying the same search attributes, memo and summary as ours. In the first
 * workflow task: the stock decision as a local activity, the ACCEPTED search attribute, the update
 * answered. Then one normal activity (the assignment, which also writes the read model), one
 * upsert of status CONFIRMED and the store (StoreId) together, and the hold: a timer (shortened to 1 s, so
 * the workflow ends) racing the cancel signal. The cost batches hold longer and end each one with
 * `cancel` after measuring, so that, like ours, it is measured up to the hold and not its end.
 */
export async function skeletonWorkflow(holdMs = 1_000): Promise<void> {
  let decided = false;
  let cancelled = false;
  setHandler(skeletonReserve, async () => {
    await condition(() => decided);
    return 'ACCEPTED';
  });
  setHandler(skeletonCancel, () => void (cancelled = true));
  await local.noop(); // the stock decision
  upsertSearchAttributes([{ key: SearchAttributes.status, value: 'ACCEPTED' }]);
  decided = true;
  await noop(); // the assignment (and the read model)
  upsertSearchAttributes([
    { key: SearchAttributes.status, value: 'CONFIRMED' },
    { key: SearchAttributes.storeId, value: SKELETON_STORE },
  ]);
  await condition(() => cancelled, holdMs);
}
