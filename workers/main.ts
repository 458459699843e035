/** `npm run start:worker`: the reservation worker alone, configured by DATABASE_URL and TEMPORAL_ADDRESS. */
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { parseConfig, requireServices } from '../shared/config.js';
import { createLogger } from '../shared/log.js';
import { runMain, say } from '../scripts/main.js';
import { openDatabase, startWorker } from '../scripts/stack.js';

runMain('tshop-worker', async (onStop) => {
  const config = parseConfig();
  const { databaseUrl, temporalAddress } = requireServices(config);
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
  const log = createLogger('worker', config.logLevel);
  const db = await openDatabase(databaseUrl);
  onStop(() => db.destroy());
  const worker = await startWorker(config, { db, temporalAddress, log });
  onStop(worker.stop);
  say(`worker polling task queue ${config.temporal.taskQueue} on ${temporalAddress}`);
});
