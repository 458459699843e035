import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Config } from '../platform/config.js';
import { listen, type RunningServer } from '../platform/http.js';
import type { Logger } from '../platform/log.js';
import { resolveAssignmentToken } from '../platform/auth.js';
import { createAssignmentClient } from '../app/assignment/client.js';
import { createApp } from './app.js';
import type { RevocationList } from './revocations.js';

/** Where `npm run start:api` serves its metrics unless API_METRICS_PORT says otherwise. */
export const DEFAULT_API_METRICS_PORT = 9465;

/** Serves the reservation API, and its metrics on a port of their own. */
export async function startApi(
  config: Config,
  deps: {
    db: Kysely<Database>;
    client: Client;
    log: Logger;
    authSecret: string;
    /** The web app's bundle, if served. */
    webDir?: string;
    /** The metrics port when API_METRICS_PORT is unset. */
    metricsPort?: number;
  },
): Promise<RunningServer & { metricsUrl: string; revocations: RevocationList }> {
  const app = createApp({
    db: deps.db,
    temporal: deps.client,
    taskQueue: config.temporal.taskQueue,
    policy: config.policy,
    notifierTaskQueue: config.notifier.taskQueue,
    admission: config.admission,
    line: config.line,
    rateLimits: config.rateLimits,
    trustedProxies: config.trustedProxies,
    requireVerifiedPhone: config.requireVerifiedPhone,
    log: deps.log,
    assignment: createAssignmentClient({ url: config.assignment.url, token: resolveAssignmentToken(config.assignment.token, config.dataDir) }),
    authSecret: deps.authSecret,
    tokenMaxTtlSeconds: config.tokenMaxTtlSeconds,
    identityProvider: config.identityProvider,
    ...(deps.webDir ? { web: { dir: deps.webDir, devLogin: config.web.devLogin } } : {}),
    workerMetricsUrls: config.web.workerMetricsUrls,
  });
  const metricsPort = config.apiMetrics.port ?? deps.metricsPort ?? DEFAULT_API_METRICS_PORT;
  const metrics = await listen(app.metrics.fetch, config.apiMetrics.host, metricsPort, 'API metrics, API_METRICS_PORT');
  const server = await listen(app.fetch, config.http.host, config.http.port, 'API, PORT').catch(async (err: unknown) => {
    await metrics.close();
    throw err;
  });
  app.startLine();
  return {
    url: server.url,
    metricsUrl: `${metrics.url}/metrics`,
    revocations: app.revocations,
    async close() {
      await app.close();
      await server.close();
      await metrics.close();
    },
  };
}
