/**
 * The codec endpoint (Temporal's remote codec convention: POST /encode and /decode with
 * `{"payloads": [{"metadata": {…base64}, "data": "base64"}]}`): the Web UI and the `temporal` CLI
 * send it the sealed payloads they fetched and show what comes back. Only an operator may read
 * them: a caller on this host's loopback (where `npm start` binds it, beside the Web UI) or one
 * presenting an admin bearer token (`Authorization`, which the Web UI passes with its own login).
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { DEFAULT_TOKEN_POLICY, type Principal } from '../../shared/auth.js';
import { dataConverterFor } from '../../shared/codec.js';
import type { Config } from '../../shared/config.js';
import { isLoopback } from '../../shared/http.js';
import { createJwksVerifier } from '../../shared/jwks.js';
import { tokenVerifier } from '../auth.js';
import { Problem, problemResponse } from '../errors.js';

export interface CodecAppDeps {
  codec: PayloadCodec;
  /** The Web UI's origins, allowed to call from the browser. */
  origins: string[];
  /** Verifies the bearer token of a caller off the loopback (an admin's is let in). */
  verifyToken: (token: string) => Promise<Principal | undefined>;
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

export function createCodecApp({ codec, origins, verifyToken }: CodecAppDeps) {
  const app = new Hono();
  app.use('*', cors({ origin: origins, allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['Content-Type', 'X-Namespace', 'Authorization'], credentials: true }));
  app.use('*', async (c, next) => {
    const remote = getConnInfo(c).remote.address ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const principal = token ? await verifyToken(token) : undefined;
    if (principal?.role === 'admin' || (!token && isLoopback(remote))) return next();
    return problemResponse(c, new Problem(401, 'UNAUTHENTICATED', 'payloads are shown to operators only: call from this host, or with an admin token'));
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
 * them (its own HS256 ones with `secret`, the identity provider's through its JWKS). Revocations
 * are the API's to check: a token here is an admin's for its short life. Undefined without keys.
 */
export function codecAppFromConfig(config: Config, secret: string | undefined, origins: string[]) {
  const codec = dataConverterFor(config.temporal.payloadKeys)?.payloadCodecs[0];
  if (!codec) return undefined;
  const provider = config.identityProvider ? createJwksVerifier(config.identityProvider) : undefined;
  const policy = { ...DEFAULT_TOKEN_POLICY, maxTtlSeconds: config.tokenMaxTtlSeconds };
  return createCodecApp({ codec, origins, verifyToken: tokenVerifier(secret, policy, provider) });
}
