/** Bearer tokens: HS256 JWTs carrying a subject and a role (and, for store staff, the store). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sign, verify } from 'hono/jwt';

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

/** Verifies signature, issuer and expiry; undefined for anything that is not a valid token of ours. */
export async function verifyToken(secret: string, token: string): Promise<Principal | undefined> {
  try {
    const claims = await verify(token, secret, { alg: 'HS256', iss: ISSUER });
    const sub = typeof claims.sub === 'string' && claims.sub.length > 0 && claims.sub.length <= 64 ? claims.sub : undefined;
    if (!sub) return undefined;
    if (claims.role === 'customer' || claims.role === 'admin') return { role: claims.role, sub };
    if (claims.role === 'agency' && typeof claims.agency === 'string' && claims.agency) return { role: 'agency', sub, agencyId: claims.agency };
    return undefined;
  } catch {
    return undefined;
  }
}

/** JWT_SECRET if set; otherwise the dev stack's secret under the data directory, made on first use. */
export function resolveSigningSecret(configured: string | undefined, dataDir: string, create: boolean): string | undefined {
  if (configured) return configured;
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (!create) return undefined;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}
