/**
 * The codec endpoint (Temporal's remote codec convention: POST /encode and /decode with
 * `{"payloads": [{"metadata": {…base64}, "data": "base64"}]}`): the Web UI and the `temporal` CLI
 * send it the sealed payloads they fetched and show what comes back. Only an operator may read
 * them: a caller presenting an admin bearer token that is not revoked (`Authorization`, which the
 * Web UI passes with its own login). Without a token, only where a development setting says so
 * (CODEC_TRUST_LOOPBACK: the dev server's Web UI has no login to pass), and then only for a caller
 * whose connection comes from this host and whose Host header names it. A page elsewhere that
 * rebinds its own name to 127.0.0.1 still sends that name as Host; a proxy, a tunnel or a
 * port-forward on this host would pass both tests, which is why the setting is refused in production.
 * A browser's call from an origin that is not the Web UI's is refused whatever it carries.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { DEFAULT_TOKEN_POLICY, type Principal } from '../../platform/auth.js';
import { dataConverterFor } from '../../platform/codec.js';
import type { Config } from '../../platform/config.js';
import { isLoopback } from '../../platform/http.js';
import { createJwksVerifier } from '../../platform/jwks.js';
import { revocationsUnknown, tokenVerifier } from '../auth.js';
import { Problem, problemResponse } from '../errors.js';
import type { RevocationList } from '../revocations.js';

export interface CodecAppDeps {
  codec: PayloadCodec;
  /** The Web UI's origins, allowed to call from the browser; a call with another Origin is refused. */
  origins: string[];
  /** Verifies a bearer token (an admin's is let in), revocations included. */
  verifyToken: (token: string) => Promise<Principal | undefined>;
  /** Whether revocations can be checked now (the API's list, read from PostgreSQL); no token is accepted while not. */
  revocationsReady: () => Promise<boolean>;
  /** Whether a caller without a token is let in from this host (development only). */
  trustLoopback: boolean;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether the Host header names this host (with or without a port). */
function namesLoopback(host: string | undefined): boolean {
  if (!host) return false;
  try {
    return LOOPBACK_NAMES.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/** The tokenless caller of a development stack: its connection and its Host both this host's. */
const isLocalCaller = (c: Context) => isLoopback(getConnInfo(c).remote.address) && namesLoopback(c.req.header('host'));

export function createCodecApp({ codec, origins, verifyToken, revocationsReady, trustLoopback }: CodecAppDeps) {
  const app = new Hono();
  app.use('*', cors({ origin: origins, allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['Content-Type', 'X-Namespace', 'Authorization'], credentials: true }));
  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !origins.includes(origin)) {
      return problemResponse(c, new Problem(403, 'FORBIDDEN', 'browsers may call the codec endpoint from the Web UI only'));
    }
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (!token) {
      if (trustLoopback && isLocalCaller(c)) return next();
      return problemResponse(c, new Problem(401, 'UNAUTHENTICATED', 'payloads are shown to operators only: send an admin token'));
    }
    if (!(await revocationsReady())) return problemResponse(c, revocationsUnknown());
    const principal = await verifyToken(token);
    if (principal?.role === 'admin') return next();
    return problemResponse(c, new Problem(401, 'UNAUTHENTICATED', 'payloads are shown to operators only: this token is not a valid admin token'));
  });
  for (const op of ['encode', 'decode'] as const) {
    app.post(`/${op}`, async (c) => {
      const body = (await c.req.json().catch(() => undefined)) as { payloads?: JsonPayload[] } | undefined;
      if (!Array.isArray(body?.payloads)) return problemResponse(c, new Problem(400, 'VALIDATION_FAILED', 'send {"payloads": [...]}'));
      const done = await codec[op](body.payloads.map(fromJson)).catch(() => undefined);
      if (!done) return problemResponse(c, new Problem(422, 'VALIDATION_FAILED', 'a payload could not be read with the keys this endpoint has'));
      return c.json({ payloads: done.map(toJson) });
    });
  }
  return app;
}

/**
 * The codec endpoint as configured: the PAYLOAD_KEYS codec, and tokens checked as the API checks
 * them (its own HS256 ones with `secret`, the identity provider's through its JWKS, and the
 * revocations it reads). Undefined without keys.
 */
export function codecAppFromConfig(config: Config, secret: string | undefined, origins: string[], revocations: RevocationList) {
  const codec = dataConverterFor(config.temporal.payloadKeys)?.payloadCodecs[0];
  if (!codec) return undefined;
  const provider = config.identityProvider ? createJwksVerifier(config.identityProvider) : undefined;
  const policy = { ...DEFAULT_TOKEN_POLICY, maxTtlSeconds: config.tokenMaxTtlSeconds, isRevoked: revocations.isRevoked };
  return createCodecApp({
    codec,
    origins,
    verifyToken: tokenVerifier(secret, policy, provider),
    revocationsReady: revocations.ready,
    trustLoopback: config.codec.trustLoopback,
  });
}
