/** Bearer tokens: HS256 JWTs carrying a subject and a role (and, for store staff, the store). */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sign } from 'hono/jwt';

export const ROLES = ['customer', 'agency', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the verified content of a token. */
export type Principal =
  | { role: 'customer'; sub: string }
  | { role: 'agency'; sub: string; agencyId: string }
  | { role: 'admin'; sub: string };

const ISSUER = 'tshop-reserve';

export async function signToken(secret: string, principal: Principal, ttlSeconds = 30 * 24 * 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      iss: ISSUER,
      sub: principal.sub,
      role: principal.role,
      ...(principal.role === 'agency' ? { agency: principal.agencyId } : {}),
      iat: now,
      exp: now + ttlSeconds,
    },
    secret,
    'HS256',
  );
}

/**
 * Verifies signature, issuer and expiry; undefined for anything that is not a valid token of ours.
 * Checked here with one HMAC: hono/jwt's verify goes through WebCrypto and imports the key on every
 * call, which cost 0.3 ms of CPU per request in a launch burst.
 */
export async function verifyToken(secret: string, token: string): Promise<Principal | undefined> {
  const [header, payload, signature, extra] = token.split('.');
  if (!header || !payload || !signature || extra !== undefined) return undefined;
  if (segment(header)?.alg !== 'HS256') return undefined;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = segment(payload);
  const now = Math.floor(Date.now() / 1000);
  if (!claims || claims.iss !== ISSUER) return undefined;
  if ((typeof claims.exp === 'number' && claims.exp <= now) || (typeof claims.nbf === 'number' && claims.nbf > now)) return undefined;
  if (typeof claims.iat === 'number' && claims.iat > now) return undefined;
  const sub = typeof claims.sub === 'string' && claims.sub.length > 0 && claims.sub.length <= 64 ? claims.sub : undefined;
  if (!sub) return undefined;
  if (claims.role === 'customer' || claims.role === 'admin') return { role: claims.role, sub };
  if (claims.role === 'agency' && typeof claims.agency === 'string' && claims.agency) return { role: 'agency', sub, agencyId: claims.agency };
  return undefined;
}

/** A JWT header or payload: base64url JSON of an object, else undefined. */
function segment(part: string): Record<string, unknown> | undefined {
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
export function resolveDevSecret(configured: string | undefined, file: string, create: boolean): string | undefined {
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
