/** Who may do what: bearer-token authentication for every non-public route, and role checks. */
import type { Context, MiddlewareHandler } from 'hono';
import { segment, verifyToken, type Principal, type Role, type TokenPolicy } from '../platform/auth.js';
import type { JwksVerifier } from '../platform/jwks.js';
import { Problem, problemResponse } from './errors.js';

/** `reservationId`: the reservation a request created, for the access log (api/metrics.ts). */
export type AppEnv = { Variables: { principal: Principal; reservationId?: string } };

// The lottery's record is public: anyone may check a draw, not only the customers in it.
const PUBLIC = [/^\/healthz$/, /^\/readyz$/, /^\/openapi\.json$/, /^\/docs(\/.*)?$/, /^\/$/, /^\/app\/[^/]+$/, /^\/dev\/(identities|login)$/, /^\/products\/\d+\/draw$/];

/** Our HS256 tokens (when we have the secret), or the identity provider's RS256/ES256 ones (when one is configured). */
export function tokenVerifier(secret: string | undefined, policy: TokenPolicy, provider?: JwksVerifier) {
  return async (token: string): Promise<Principal | undefined> => {
    if (segment(token.split('.')[0] ?? '')?.alg === 'HS256') return secret ? verifyToken(secret, token, policy) : undefined;
    return provider?.(token, policy);
  };
}

/**
 * Verifies `Authorization: Bearer <jwt>`; public routes pass without one. HS256 tokens are ours
 * (`npm run token`); with an identity provider configured, its RS256/ES256 tokens are checked
 * against its JWKS.
 */
export function authenticate(secret: string, policy: TokenPolicy, provider?: JwksVerifier, revocationsReady?: () => Promise<boolean>): MiddlewareHandler<AppEnv> {
  const verifyAny = tokenVerifier(secret, policy, provider);
  return async (c, next) => {
    if (PUBLIC.some((p) => p.test(c.req.path))) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match && revocationsReady && !(await revocationsReady())) return problemResponse(c, revocationsUnknown());
    const principal = match ? await verifyAny(match[1]!) : undefined;
    if (!principal) {
      const res = problemResponse(
        c,
        new Problem(401, 'UNAUTHENTICATED', match ? 'the bearer token is invalid, expired, too long-lived or revoked' : 'send Authorization: Bearer <token>'),
      );
      res.headers.set('WWW-Authenticate', 'Bearer realm="tshop"');
      return res;
    }
    c.set('principal', principal);
    return next();
  };
}

/** A token cannot be checked against revocations the process could not read lately: come back (fail closed). */
export const revocationsUnknown = () =>
  new Problem(503, 'SERVICE_UNAVAILABLE', 'revoked tokens could not be read lately, so no token is accepted now; try again shortly', {}, { 'Retry-After': '5' });

/** The caller, if their role is one of `roles`; otherwise 403. */
export function requireRole<R extends Role>(c: Context<AppEnv>, ...roles: R[]): Extract<Principal, { role: R }> {
  const principal = c.get('principal');
  if (!roles.includes(principal.role as R)) {
    throw new Problem(403, 'FORBIDDEN', `the ${principal.role} role may not do this`);
  }
  return principal as Extract<Principal, { role: R }>;
}

/** Whether the caller may see a reservation; one they may not see is answered as missing (404). */
export function canSee(p: Principal, r: { customer_id: string; store_id: string | null }): boolean {
  if (p.role === 'admin') return true;
  if (p.role === 'customer') return r.customer_id === p.sub;
  return r.store_id === p.storeId;
}
