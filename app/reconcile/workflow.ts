/** The reconciler, started every minute by its Schedule (workers/schedules.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../workers/activities.js';
import type { ReconcileInput, ReconcileReport } from './activities.js';

const { reconcile } = proxyActivities<Pick<Activities, 'reconcile'>>({
  startToCloseTimeout: '2 minutes',
  // The next run comes a minute later anyway.
  retry: { maximumAttempts: 3 },
});

export async function reconcileWorkflow(input: ReconcileInput = {}): Promise<ReconcileReport> {
  return reconcile(input);
}
