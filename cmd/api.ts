/** `npm run start:api`: the HTTP API alone, configured by DATABASE_URL, TEMPORAL_ADDRESS and PORT. */
import { resolveSigningSecret } from '../platform/auth.js';
import { ConfigError, parseConfig, requireServices } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import { startTracing } from '../platform/tracing.js';
import { runMain, say } from '../platform/run-main.js';
import { connectTemporal } from '../platform/temporal.js';
import { openDatabase } from '../db/open.js';
import { startApi } from '../api/server.js';
import { ensureWebBundle } from '../web/build/bundle.js';

runMain('tshop-api', async (onStop) => {
  const config = parseConfig();
  const { databaseUrl, temporalAddress } = requireServices(config);
  const log = createLogger('api', config.logLevel);
  // Before the Temporal client is made: it takes the tracing interceptors when tracing is on.
  const tracing = startTracing(config, 'tshop-api');
  onStop(tracing.shutdown);
  const db = await openDatabase(databaseUrl);
  onStop(() => db.destroy());
  const { connection, client } = await connectTemporal(temporalAddress, config.temporal.namespace, config.temporal.payloadKeys, config.temporal.access);
  onStop(() => connection.close());
  const authSecret = resolveSigningSecret(config.jwtSecret, config.dataDir, false);
  if (!authSecret) throw new ConfigError(`JWT_SECRET must be set (or ${config.dataDir}/jwt-secret exist, as npm run start:infra makes it)`);
  const webDir = await ensureWebBundle(config.web.dir);
  const api = await startApi(config, { db, client, log, authSecret, webDir });
  onStop(api.close);
  say(`API listening on ${api.url}, its metrics on ${api.metricsUrl}`);
});
