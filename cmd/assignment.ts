/**
 * `npm run start:assignment`: the assignment service alone, on ASSIGNMENT_PORT, connected as its own
 * database role (ASSIGNMENT_DATABASE_URL), with its metrics on ASSIGNMENT_METRICS_PORT.
 */
import { ConfigError, parseConfig } from '../platform/config.js';
import { resolveAssignmentToken } from '../platform/auth.js';
import { createLogger } from '../platform/log.js';
import { runMain, say } from '../platform/run-main.js';
import { listen } from '../platform/http.js';
import { openDatabase } from '../db/open.js';
import { createAssignmentApp } from '../app/assignment/api.js';
import { createAssignmentMetrics, DEFAULT_ASSIGNMENT_METRICS_PORT } from '../app/assignment/metrics.js';
import type { AssignmentDatabase } from '../app/assignment/schema.js';

runMain('tshop-assignment', async (onStop) => {
  const config = parseConfig();
  const { databaseUrl, metrics } = config.assignment;
  if (!databaseUrl) {
    throw new ConfigError(
      config.databaseUrl
        ? 'ASSIGNMENT_DATABASE_URL must be set with NODE_ENV=production: the service connects as its own role, which alone may use its tables'
        : 'ASSIGNMENT_DATABASE_URL (or, in development, DATABASE_URL) must be set (run "npm run start:infra" for a local PostgreSQL)',
    );
  }
  const log = createLogger('assignment', config.logLevel);
  const db = await openDatabase<AssignmentDatabase>(databaseUrl);
  onStop(() => db.destroy());
  const app = createAssignmentApp({ db, log, token: resolveAssignmentToken(config.assignment.token, config.dataDir) });
  const server = await listen(app.fetch, config.assignment.host, config.assignment.port, 'assignment service, ASSIGNMENT_PORT');
  onStop(server.close);
  // As the worker's: assignments matter more than their metrics, so a taken port is logged, not fatal.
  const metricsPort = metrics.port ?? DEFAULT_ASSIGNMENT_METRICS_PORT;
  const metricsServer = await listen(createAssignmentMetrics(db).fetch, metrics.host, metricsPort, 'assignment metrics, ASSIGNMENT_METRICS_PORT').catch((err: unknown) => {
    log.error('assignment metrics endpoint not started', { host: metrics.host, port: metricsPort, error: err instanceof Error ? err.message : err });
    return undefined;
  });
  if (metricsServer) onStop(metricsServer.close);
  say(`assignment service listening on ${server.url}${metricsServer ? ` (metrics ${metricsServer.url}/metrics)` : ''}`);
});
