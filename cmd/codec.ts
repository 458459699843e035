/**
 * `npm run start:codec`: the codec endpoint alone (PAYLOAD_KEYS required), on CODEC_HOST:CODEC_PORT,
 * for a Web UI elsewhere (CODEC_UI_ORIGINS, comma-separated). It opens payloads for admin tokens
 * only (the UI passes its login's: TEMPORAL_CODEC_PASS_ACCESS_TOKEN), refusing revoked ones, which
 * it reads from DATABASE_URL as the API does.
 */
import { ConfigError, parseConfig } from '../platform/config.js';
import { resolveSigningSecret } from '../platform/auth.js';
import { listen } from '../platform/http.js';
import { createLogger } from '../platform/log.js';
import { runMain, say } from '../platform/run-main.js';
import { openDatabase } from '../db/open.js';
import { codecAppFromConfig } from '../api/codec/app.js';
import { createRevocationList } from '../api/revocations.js';

runMain('tshop-codec', async (onStop) => {
  const config = parseConfig();
  if (!config.temporal.payloadKeys) throw new ConfigError('PAYLOAD_KEYS must be set: the codec endpoint opens what those keys sealed');
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL must be set: the codec endpoint refuses revoked tokens, read from there');
  const secret = resolveSigningSecret(config.jwtSecret, config.dataDir, false);
  if (!secret && !config.identityProvider) throw new ConfigError('JWT_SECRET or AUTH_JWKS_URL must be set: admins present a token');
  const log = createLogger('codec', config.logLevel);
  const db = await openDatabase(config.databaseUrl);
  onStop(() => db.destroy());
  const app = codecAppFromConfig(config, secret, config.codec.uiOrigins, createRevocationList(db, log))!;
  const server = await listen(app.fetch, config.codec.host, config.codec.port ?? 8091, 'codec endpoint, CODEC_PORT');
  onStop(server.close);
  say(`codec endpoint listening on ${server.url}`);
});
