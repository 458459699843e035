/**
 * Write limits, through rate-limiter-flexible: per customer (and per staff or admin subject) in
 * PostgreSQL, so the limit holds however many API processes a customer's requests reach; per client
 * address in each process's memory, as a flood guard only, since a carrier's NAT puts thousands of
 * its own customers behind one address. A refusal is 429 with Retry-After; every limited answer
 * carries the IETF RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11).
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { CompiledQuery, type Kysely } from 'kysely';
import proxyaddr from 'proxy-addr';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../db/schema.js';
import type { Logger } from '../platform/log.js';
import type { AppEnv } from './auth.js';
import type { RateLimit, RateLimitPolicy } from './deps.js';
import { Problem, problemResponse } from './errors.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** rate-limiter-flexible's PostgreSQL store speaks pg's `query({ text, values })`: here through the app's own pool. */
function storeClient(db: Kysely<Database>) {
  return { query: (q: { text: string; values?: unknown[] }) => db.executeQuery(CompiledQuery.raw(q.text, q.values ?? [])) };
}

interface Limiter {
  name: string;
  limit: RateLimit;
  limiter: RateLimiterAbstract;
}

function shared(db: Kysely<Database>, name: string, limit: RateLimit): Limiter {
  // While the database is unreachable, each process limits on its own rather than letting everything through.
  const insuranceLimiter = new RateLimiterMemory({ keyPrefix: name, points: limit.points, duration: limit.durationSeconds });
  const limiter = new RateLimiterPostgres({
    storeClient: storeClient(db),
    storeType: 'client',
    tableName: 'rate_limits',
    tableCreated: true,
    keyPrefix: name,
    points: limit.points,
    duration: limit.durationSeconds,
    // A key over its limit is refused from memory until its window ends: a flood costs the database nothing.
    inMemoryBlockOnConsumed: limit.points,
    inMemoryBlockDuration: limit.durationSeconds,
    insuranceLimiter,
  });
  return { name, limit, limiter };
}

const local = (name: string, limit: RateLimit): Limiter => ({ name, limit, limiter: new RateLimiterMemory({ keyPrefix: name, points: limit.points, duration: limit.durationSeconds }) });

/** The caller's address: the connection's, or the X-Forwarded-For hop the trusted proxies vouch for. */
export function clientAddress(c: Context, trustedProxies: string[]): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming?.socket) return 'unknown';
  return trustedProxies.length > 0 ? proxyaddr(incoming, proxyaddr.compile(trustedProxies)) : (incoming.socket.remoteAddress ?? 'unknown');
}

const policyItem = (l: Limiter) => `"${l.name}";q=${l.limit.points};w=${l.limit.durationSeconds}`;
const stateItem = (l: Limiter, res: RateLimiterRes) => `"${l.name}";r=${Math.max(0, res.remainingPoints)};t=${Math.max(0, Math.ceil(res.msBeforeNext / 1000))}`;

export function writeLimits(db: Kysely<Database>, policy: RateLimitPolicy, trustedProxies: string[], log: Logger): MiddlewareHandler<AppEnv> {
  const customer = policy.customerWrites && shared(db, 'customer', policy.customerWrites);
  const staff = policy.staffWrites && shared(db, 'staff', policy.staffWrites);
  const address = policy.addressWrites && local('address', policy.addressWrites);

  const consume = async (l: Limiter, key: string): Promise<{ res: RateLimiterRes; refused: boolean }> => {
    try {
      return { res: await l.limiter.consume(key), refused: false };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { res: err, refused: true };
      // The store failed and so did its insurance: let the write through rather than refuse everyone.
      log.warn('rate limit: store failed; not limiting this request', { limit: l.name, error: err });
      return { res: new RateLimiterRes(l.limit.points, 0, 0, false), refused: false };
    }
  };

  return async (c, next) => {
    if (!WRITES.has(c.req.method)) return next();
    const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
    const checks: [Limiter, string][] = [];
    if (address) checks.push([address, clientAddress(c, trustedProxies)]);
    const own = principal && (principal.role === 'customer' ? customer : staff);
    if (principal && own) checks.push([own, principal.role === 'customer' ? principal.sub : `${principal.role}:${principal.sub}`]);
    if (checks.length === 0) return next();
    const results = await Promise.all(checks.map(([l, key]) => consume(l, key)));
    const headers = {
      'RateLimit-Policy': checks.map(([l]) => policyItem(l)).join(', '),
      RateLimit: checks.map(([l], i) => stateItem(l, results[i]!.res)).join(', '),
    };
    const refused = results.findIndex((r) => r.refused);
    if (refused >= 0) {
      const [l] = checks[refused]!;
      const seconds = Math.max(1, Math.ceil(results[refused]!.res.msBeforeNext / 1000));
      const scope = l.name === 'address' ? 'from your address' : 'of yours';
      return problemResponse(
        c,
        new Problem(429, 'RATE_LIMITED', `too many writes ${scope}: ${l.limit.points} per ${l.limit.durationSeconds} s; try again in ${seconds} s`, { retryAfterSeconds: seconds, limit: l.name }, { ...headers, 'Retry-After': String(seconds) }),
      );
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
