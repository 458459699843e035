/**
 * Tokens of an external identity provider, verified against its JSON Web Key Set (RS256, ES256):
 * the keys are fetched once and cached, and fetched again (at most every 30 s) when a token names
 * a key id the cache does not have, which is how a provider's key rotation arrives.
 * Hand-written rather than jose's createRemoteJWKSet: two algorithms over node:crypto, sharing
 * acceptClaims (lifetime per role, revocation) with our own tokens, no extra dependency.
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { acceptClaims, segment, type ClaimNames, type Principal, type TokenPolicy } from './auth.js';

export interface JwksOptions {
  /** The provider's JWKS document (`…/.well-known/jwks.json`). */
  url: string;
  /** The `iss` its tokens carry; any other is refused. */
  issuer: string;
  /** The `aud` a token must carry (one of): this API's name at the provider. */
  audience: string;
  claims: ClaimNames;
  /** The JWKS is fetched again for an unknown key id at most this often (30 s). */
  minRefetchMs?: number;
}

const ALGORITHMS = { RS256: { kty: 'RSA', dsaEncoding: undefined }, ES256: { kty: 'EC', dsaEncoding: 'ieee-p1363' } } as const;

export function createJwksVerifier(options: JwksOptions) {
  let keys = new Map<string, { kty: string; key: KeyObject }>();
  let fetchedAt = 0;
  let fetching: Promise<void> | undefined;
  const refresh = () =>
    (fetching ??= fetch(options.url, { signal: AbortSignal.timeout(5_000) })
      .then(async (res) => {
        if (!res.ok) throw new Error(`JWKS answered ${res.status}`);
        const doc = (await res.json()) as { keys?: (JsonWebKey & { kid?: string })[] };
        keys = new Map((doc.keys ?? []).filter((k) => k.kid).map((k) => [k.kid!, { kty: String(k.kty), key: createPublicKey({ key: k, format: 'jwk' }) }]));
        fetchedAt = Date.now();
      })
      .finally(() => (fetching = undefined)));

  const keyFor = async (kid: string) => {
    if (!keys.has(kid) && Date.now() - fetchedAt >= (options.minRefetchMs ?? 30_000)) await refresh().catch(() => undefined);
    return keys.get(kid);
  };

  /** The principal of a valid token of the provider, else undefined. */
  return async (token: string, policy: TokenPolicy): Promise<Principal | undefined> => {
    const [header, payload, signature, extra] = token.split('.');
    if (!header || !payload || !signature || extra !== undefined) return undefined;
    const h = segment(header);
    const alg = ALGORITHMS[h?.alg as keyof typeof ALGORITHMS];
    if (!alg || typeof h?.kid !== 'string') return undefined;
    const key = await keyFor(h.kid);
    if (!key || key.kty !== alg.kty) return undefined;
    const signed = Buffer.from(`${header}.${payload}`);
    const ok = verify('sha256', signed, alg.dsaEncoding ? { key: key.key, dsaEncoding: alg.dsaEncoding } : key.key, Buffer.from(signature, 'base64url'));
    if (!ok) return undefined;
    const claims = segment(payload);
    if (!claims || claims.iss !== options.issuer) return undefined;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(options.audience)) return undefined;
    return acceptClaims(claims, policy, options.claims);
  };
}
export type JwksVerifier = ReturnType<typeof createJwksVerifier>;
