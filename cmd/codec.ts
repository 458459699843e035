/**
 * `npm run start:codec`: the codec endpoint alone (PAYLOAD_KEYS required), on CODEC_HOST:CODEC_PORT,
 * for a Web UI elsewhere (CODEC_UI_ORIGINS, comma-separated). Off the loopback it opens payloads
 * for admin tokens only: the UI passes its login's token (TEMPORAL_CODEC_PASS_ACCESS_TOKEN).
 */
import { ConfigError, parseConfig } from '../shared/config.js';
import { resolveSigningSecret } from '../shared/auth.js';
import { listen } from '../shared/http.js';
import { runMain, say } from '../shared/run-main.js';
import { codecAppFromConfig } from '../api/codec/app.js';

runMain('tshop-codec', async (onStop) => {
  const config = parseConfig();
  if (!config.temporal.payloadKeys) throw new ConfigError('PAYLOAD_KEYS must be set: the codec endpoint opens what those keys sealed');
  const secret = resolveSigningSecret(config.jwtSecret, config.dataDir, false);
  if (!secret && !config.identityProvider) throw new ConfigError('JWT_SECRET or AUTH_JWKS_URL must be set: admins present a token off the loopback');
  const app = codecAppFromConfig(config, secret, config.codec.uiOrigins)!;
  const server = await listen(app.fetch, config.codec.host, config.codec.port ?? 8091, 'codec endpoint, CODEC_PORT');
  onStop(server.close);
  say(`codec endpoint listening on ${server.url}`);
});
