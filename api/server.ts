import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Config } from '../shared/config.js';
import { listen, type RunningServer } from '../shared/http.js';
import type { Logger } from '../shared/log.js';
import { createApp } from './app.js';

/** Serves the reservation API. */
export async function startApi(
  config: Config,
  deps: { db: Kysely<Database>; client: Client; log: Logger; authSecret: string; /** The web app's bundle, if served. */ webDir?: string },
): Promise<RunningServer> {
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
    authSecret: deps.authSecret,
    tokenMaxTtlSeconds: config.tokenMaxTtlSeconds,
    identityProvider: config.identityProvider,
    ...(deps.webDir ? { web: { dir: deps.webDir, devLogin: config.web.devLogin } } : {}),
    workerMetricsUrls: config.web.workerMetricsUrls,
  });
  const server = await listen(app.fetch, config.http.host, config.http.port, 'API, PORT');
  app.startLine();
  return {
    url: server.url,
    async close() {
      await app.close();
      await server.close();
    },
  };
}
