/** Retention, started daily by its Schedule (workers/schedules.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../workers/activities.js';
import type { PurgeCounts } from './repository.js';
import type { RetentionInput } from './activities.js';

const { purgePersonalData } = proxyActivities<Pick<Activities, 'purgePersonalData'>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
});

export async function retentionWorkflow(input: RetentionInput): Promise<PurgeCounts> {
  return purgePersonalData(input);
}
