/**
 * Tokens of an external identity provider (RS256, ES256) verified through its JWKS, beside the
 * API's own HS256 tokens (`npm run token`), against a JWKS served over HTTP as a provider would.
 */
import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../db/schema.js';
import { parseConfig } from '../../platform/config.js';
import { ADMIN, connectClient, openTestDb, testApp, tokenFor } from '../helpers.js';

const ISSUER = 'https://login.tshop.example/';
let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let jwksServer: Server;
let jwksUrl: string;
let served: object[] = [];
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig' });

beforeAll(async () => {
  db = await openTestDb();
  ({ connection, client } = await connectClient());
  served = [jwk(rsa.publicKey, 'rsa-1'), jwk(ec.publicKey, 'ec-1')];
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served })));
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  jwksServer?.close();
  await connection?.close();
  await db?.destroy();
});

function providerToken(alg: 'RS256' | 'ES256', kid: string, key: KeyObject, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = { iss: ISSUER, aud: 'tshop-api', sub: 'kc-user-7', tshop_role: 'customer', jti: randomUUID(), iat: now, exp: now + 600, ...claims };
  const input = `${part({ alg, kid, typ: 'JWT' })}.${part(body)}`;
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

it('accepts the provider\'s RS256 and ES256 tokens, picks up a rotated key, refuses the rest; HS256 dev tokens keep working', async () => {
  const config = parseConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'tshop-api', AUTH_ROLE_CLAIM: 'tshop_role' });
  // (The JWKS may be fetched again at once here; 30 s apart by default.)
  const app = testApp(db, client, 'jwks-test', undefined, { identityProvider: { ...config.identityProvider!, minRefetchMs: 0 } });
  const status = async (token: string) => (await app.request('/reservations', { headers: { authorization: `Bearer ${token}` } }, null)).status;

  expect(await status(providerToken('RS256', 'rsa-1', rsa.privateKey))).toBe(200);
  expect(await status(providerToken('ES256', 'ec-1', ec.privateKey))).toBe(200);
  expect(await status(providerToken('RS256', 'rsa-1', rsa.privateKey, { tshop_role: 'store', store: 'gangnam' }))).toBe(200);
  // Store staff need their store, and the role under the provider's claim name, not ours.
  expect(await status(providerToken('RS256', 'rsa-1', rsa.privateKey, { tshop_role: 'store' }))).toBe(401);
  expect(await status(providerToken('RS256', 'rsa-1', rsa.privateKey, { tshop_role: undefined, role: 'admin' }))).toBe(401);
  // Refused: another issuer or audience, no jti, a lifetime over the role's longest, expired, a key
  // the provider does not publish, a signature of another key, an RSA key named as ES256.
  for (const token of [
    providerToken('RS256', 'rsa-1', rsa.privateKey, { iss: 'https://evil.example/' }),
    providerToken('RS256', 'rsa-1', rsa.privateKey, { aud: 'someone-else' }),
    providerToken('RS256', 'rsa-1', rsa.privateKey, { jti: undefined }),
    providerToken('RS256', 'rsa-1', rsa.privateKey, { exp: Math.floor(Date.now() / 1000) + 2 * 86_400 }),
    providerToken('RS256', 'rsa-1', rsa.privateKey, { iat: Math.floor(Date.now() / 1000) - 700, exp: Math.floor(Date.now() / 1000) - 60 }),
    providerToken('ES256', 'ec-unknown', ec.privateKey),
    providerToken('ES256', 'ec-1', rotated.privateKey),
    providerToken('ES256', 'rsa-1', rsa.privateKey),
  ]) {
    expect(await status(token)).toBe(401);
  }
  // The provider rotates: a token of the new key is accepted once the JWKS has it (fetched again on an unknown kid).
  expect(await status(providerToken('ES256', 'ec-2', rotated.privateKey))).toBe(401);
  served = [...served, jwk(rotated.publicKey, 'ec-2')];
  expect(await status(providerToken('ES256', 'ec-2', rotated.privateKey))).toBe(200);
  // Our own tokens (npm run token) keep working beside the provider's.
  expect(await status(await tokenFor(ADMIN))).toBe(200);
});

it('an identity provider needs its issuer and this API\'s audience, and its keys over https unless on this host', () => {
  const jwks = 'https://login.tshop.example/jwks.json';
  expect(() => parseConfig({ AUTH_JWKS_URL: jwks, AUTH_AUDIENCE: 'tshop-api' })).toThrow(/AUTH_ISSUER/);
  expect(() => parseConfig({ AUTH_JWKS_URL: jwks, AUTH_ISSUER: ISSUER })).toThrow(/AUTH_AUDIENCE: required with AUTH_JWKS_URL/);
  expect(() => parseConfig({ AUTH_JWKS_URL: 'http://login.tshop.example/jwks.json', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'tshop-api' })).toThrow(/AUTH_JWKS_URL: must be https/);
  expect(() => parseConfig({ AUTH_JWKS_URL: 'http://10.0.0.5/jwks.json', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'tshop-api' })).toThrow(/AUTH_JWKS_URL: must be https/);
  for (const url of [jwks, 'http://127.0.0.1:8080/jwks.json', 'http://localhost/jwks.json', 'http://[::1]:9/jwks.json']) {
    expect(parseConfig({ AUTH_JWKS_URL: url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'tshop-api' }).identityProvider).toMatchObject({ url, audience: 'tshop-api' });
  }
});

it("refuses a token the provider made for another application, or for none", async () => {
  const config = parseConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'tshop-api', AUTH_ROLE_CLAIM: 'tshop_role' });
  const app = testApp(db, client, 'jwks-test', undefined, { identityProvider: config.identityProvider! });
  const status = async (claims: Record<string, unknown>) =>
    (await app.request('/reservations', { headers: { authorization: `Bearer ${providerToken('RS256', 'rsa-1', rsa.privateKey, claims)}` } }, null)).status;
  expect(await status({ aud: ['crm', 'tshop-api'] })).toBe(200);
  expect(await status({ aud: 'crm' })).toBe(401);
  expect(await status({ aud: undefined })).toBe(401);
});
