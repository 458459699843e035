/**
 * `npm run start:codec`: the codec endpoint alone (PAYLOAD_KEYS required), on CODEC_HOST:CODEC_PORT,
 * for a Web UI elsewhere (CODEC_UI_ORIGINS, comma-separated). Off the loopback it opens payloads
 * for admin tokens only: the UI passes its login's token (TEMPORAL_CODEC_PASS_ACCESS_TOKEN).
 */
import { ConfigError, parseConfig } from '../../shared/config.js';
import { DEFAULT_TOKEN_POLICY, resolveSigningSecret } from '../../shared/auth.js';
import { dataConverterFor } from '../../shared/codec.js';
import { createJwksVerifier } from '../../shared/jwks.js';
import { listen } from '../../scripts/infra/http.js';
import { runMain, say } from '../../scripts/main.js';
import { tokenVerifier } from '../auth.js';
import { createCodecApp } from './app.js';

runMain('tshop-codec', async (onStop) => {
  const config = parseConfig();
  const codec = dataConverterFor(config.temporal.payloadKeys)?.payloadCodecs[0];
  if (!codec) throw new ConfigError('PAYLOAD_KEYS must be set: the codec endpoint opens what those keys sealed');
  const secret = resolveSigningSecret(config.jwtSecret, config.dataDir, false);
  if (!secret && !config.identityProvider) throw new ConfigError('JWT_SECRET or AUTH_JWKS_URL must be set: admins present a token off the loopback');
  const provider = config.identityProvider ? createJwksVerifier(config.identityProvider) : undefined;
  const policy = { ...DEFAULT_TOKEN_POLICY, maxTtlSeconds: config.tokenMaxTtlSeconds };
  const app = createCodecApp({ codec, origins: config.codec.uiOrigins, verifyToken: tokenVerifier(secret, policy, provider) });
  const server = await listen(app.fetch, config.codec.host, config.codec.port ?? 8091, 'codec endpoint, CODEC_PORT');
  onStop(server.close);
  say(`codec endpoint listening on ${server.url}`);
});
