/** `npm run start:worker`: the reservation worker alone, configured by DATABASE_URL and TEMPORAL_ADDRESS. */
import { parseConfig, requireServices } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import { startTracing } from '../platform/tracing.js';
import { runMain, say } from '../platform/run-main.js';
import { openDatabase } from '../db/open.js';
import { startWorker } from '../workers/start.js';
import { DEFAULT_WORKER_METRICS_PORT } from '../workers/metrics.js';
import { installRuntime } from '../workers/runtime.js';

runMain('tshop-worker', async (onStop) => {
  const config = parseConfig();
  const { databaseUrl, temporalAddress } = requireServices(config);
  const log = createLogger('worker', config.logLevel);
  await installRuntime(log, config.logLevel);
  const tracing = startTracing(config, 'tshop-worker');
  onStop(tracing.shutdown);
  const db = await openDatabase(databaseUrl);
  onStop(() => db.destroy());
  const worker = await startWorker(config, { db, temporalAddress, log, metricsPort: config.workerMetrics.port ?? DEFAULT_WORKER_METRICS_PORT });
  onStop(worker.stop);
  say(`worker polling task queue ${config.temporal.taskQueue} on ${temporalAddress} (build ${worker.worker.options.workerDeploymentOptions?.version.buildId})`);
  if (worker.metricsUrl) say(`worker metrics at ${worker.metricsUrl}`);
  if (tracing.enabled) say(`tracing to ${config.tracing.otlpEndpoint}`);
});
