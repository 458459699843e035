/** Baselines for the benchmark: a bare workflow, and a skeleton with exactly our workflow's shape. */
import { condition, defineSignal, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export interface BenchActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });
// Ours runs its bookkeeping (read model, notifications) as local activities; so does the skeleton.
const local = proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '10 seconds' });

export const skeletonReserve = defineUpdate<string>('reserve');
export const skeletonCancel = defineSignal('cancel');

/** One no-op activity: what Temporal itself costs. */
export async function bareWorkflow(): Promise<void> {
  await noop();
}

/**
 * The shape of `reservationWorkflow` up to confirmation, with activities that do nothing:
 * Update-with-Start answered after the first activity, then notification, assignment,
 * read-model and notification activities (local where ours are), a cancel signal handler and a
 * hold timer.
 */
export async function skeletonWorkflow(): Promise<void> {
  let decided = false;
  let cancelled = false;
  setHandler(skeletonReserve, async () => {
    await condition(() => decided);
    return 'ACCEPTED';
  });
  setHandler(skeletonCancel, () => void (cancelled = true));
  await noop(); // reserveStock
  decided = true;
  await local.noop(); // deliverNotifications
  await noop(); // assignAgency
  await local.noop(); // recordTransition(CONFIRMED)
  await local.noop(); // deliverNotifications
  await condition(() => cancelled, '1 second'); // the hold (shortened: nothing waits on it)
}
