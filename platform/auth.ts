/** Bearer tokens: HS256 JWTs carrying a subject and a role (and, for store staff, the store). */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sign } from 'hono/jwt';
import { normalizePhone } from './phone.js';

export const ROLES = ['customer', 'store', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a token says of the person behind it, as OpenID Connect names it: `name`, and
 * `phone_number` only when `phone_number_verified` is true (normalized to E.164). A customer's
 * messages go to that number, and one person's units are counted by it.
 */
export interface Identity {
  name?: string;
  phone?: string;
}

/** The token itself: its id (for revocation and per-token caps) and when it expires (seconds). */
export interface TokenRef {
  jti?: string;
  exp?: number;
}

/** Who is calling: the verified content of a token. */
export type Principal =
  | ({ role: 'customer'; sub: string } & Identity & TokenRef)
  | ({ role: 'store'; sub: string; storeId: string } & TokenRef)
  | ({ role: 'admin'; sub: string } & TokenRef);

const ISSUER = 'tshop-reserve';

/** What a token may claim and still be accepted. */
export interface TokenPolicy {
  /** The longest lifetime (`exp` − `iat`) a token of each role may have. */
  maxTtlSeconds: Record<Role, number>;
  /** Clock skew forgiven on `exp`, `nbf` and `iat`. */
  leewaySeconds: number;
  /** Whether an admin revoked the token with this `jti`. */
  isRevoked(jti: string): boolean;
}

/** Short for staff with power over every reservation, a working day for store staff, a day for customers. */
export const DEFAULT_MAX_TTL_SECONDS: Record<Role, number> = { customer: 24 * 3600, store: 12 * 3600, admin: 3600 };
export const DEFAULT_TOKEN_POLICY: TokenPolicy = { maxTtlSeconds: DEFAULT_MAX_TTL_SECONDS, leewaySeconds: 30, isRevoked: () => false };

/** Signs a token with a fresh `jti` (so it can be revoked); its lifetime defaults to the role's longest. */
export async function signToken(secret: string, principal: Principal, ttlSeconds = DEFAULT_MAX_TTL_SECONDS[principal.role]): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      iss: ISSUER,
      sub: principal.sub,
      role: principal.role,
      ...(principal.role === 'store' ? { store: principal.storeId } : {}),
      ...(principal.role === 'customer' ? identityClaims(principal) : {}),
      jti: randomBytes(12).toString('base64url'),
      iat: now,
      exp: now + ttlSeconds,
    },
    secret,
    'HS256',
  );
}

/** A customer's identity as OpenID Connect claims: our tokens carry a number only once it is verified. */
function identityClaims(identity: Identity): Record<string, unknown> {
  return {
    ...(identity.name ? { name: identity.name } : {}),
    ...(identity.phone ? { phone_number: identity.phone, phone_number_verified: true } : {}),
  };
}

/**
 * Verifies signature, issuer, lifetime and revocation; undefined for anything that is not a valid
 * token of ours. `exp` and `jti` are required, `exp` − `iat` may not exceed the role's longest
 * lifetime. Checked here with one HMAC: hono/jwt's verify goes through WebCrypto and imports the
 * key on every call, which cost 0.3 ms of CPU per request in a launch burst.
 */
export async function verifyToken(secret: string, token: string, policy: TokenPolicy = DEFAULT_TOKEN_POLICY): Promise<Principal | undefined> {
  const [header, payload, signature, extra] = token.split('.');
  if (!header || !payload || !signature || extra !== undefined) return undefined;
  if (segment(header)?.alg !== 'HS256') return undefined;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = segment(payload);
  if (!claims || claims.iss !== ISSUER) return undefined;
  return acceptClaims(claims, policy);
}

/** Where a token names its role and store (ours: `role`, `store`; an identity provider's may differ). */
export interface ClaimNames {
  role: string;
  store: string;
}
const OUR_CLAIMS: ClaimNames = { role: 'role', store: 'store' };

/**
 * The principal of a token whose signature and issuer were verified: its lifetime within the
 * role's longest (and `exp` present), a `jti` that was not revoked.
 */
export function acceptClaims(claims: Record<string, unknown>, policy: TokenPolicy, names: ClaimNames = OUR_CLAIMS): Principal | undefined {
  const principal = principalOf(claims, names);
  if (!principal || !withinLifetime(claims, principal.role, policy)) return undefined;
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128 || policy.isRevoked(jti)) return undefined;
  return { ...principal, jti, exp: claims.exp as number };
}

const SUBJECT = /^[^\u0000-\u001f\u007f]{1,64}$/u;

/** A display name fit for a message: 1–40 characters after trimming, no control characters. */
const NAME = /^[^\u0000-\u001f\u007f]{1,40}$/u;

/** The identity a customer token carries (an unverified or invalid number is none). */
function identityOf(claims: Record<string, unknown>): Identity {
  const name = typeof claims.name === 'string' ? claims.name.trim() : '';
  const number = claims.phone_number_verified === true && typeof claims.phone_number === 'string' ? normalizePhone(claims.phone_number) : undefined;
  return { ...(NAME.test(name) ? { name } : {}), ...(number ? { phone: number } : {}) };
}

function principalOf(claims: Record<string, unknown>, names: ClaimNames): Principal | undefined {
  // A subject becomes a customer id, a log field and a search attribute: 1–64 characters, none a control character.
  const sub = typeof claims.sub === 'string' && SUBJECT.test(claims.sub) ? claims.sub : undefined;
  if (!sub) return undefined;
  const role = claims[names.role];
  if (role === 'customer') return { role, sub, ...identityOf(claims) };
  if (role === 'admin') return { role, sub };
  if (role !== 'store') return undefined;
  const store = claims[names.store];
  return typeof store === 'string' && store ? { role: 'store', sub, storeId: store } : undefined;
}

function withinLifetime(claims: Record<string, unknown>, role: Role, policy: TokenPolicy): boolean {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf, iat } = claims;
  const leeway = policy.leewaySeconds;
  if (typeof exp !== 'number' || exp + leeway <= now) return false;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + leeway)) return false;
  if (iat !== undefined && (typeof iat !== 'number' || iat > now + leeway)) return false;
  return exp - (typeof iat === 'number' ? iat : now) <= policy.maxTtlSeconds[role];
}

/** A JWT header or payload: base64url JSON of an object, else undefined. */
export function segment(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** JWT_SECRET if set; otherwise the dev stack's secret under the data directory, made on first use. */
export function resolveSigningSecret(configured: string | undefined, dataDir: string, create: boolean): string | undefined {
  return resolveDevSecret(configured, path.join(dataDir, 'jwt-secret'), create);
}

/** ASSIGNMENT_TOKEN if set; otherwise the dev stack's, shared by the processes of one data directory. */
export function resolveAssignmentToken(configured: string | undefined, dataDir: string): string {
  return resolveDevSecret(configured, path.join(dataDir, 'assignment-token'), true)!;
}

/**
 * The configured secret if set; otherwise the one in `file` (mode 0600), made on first use. Two
 * processes starting at once agree: only the first write lands, and both read what it wrote.
 */
function resolveDevSecret(configured: string | undefined, file: string, create: boolean): string | undefined {
  if (configured) return configured;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (!create) return undefined;
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(file, 'utf8').trim();
}
