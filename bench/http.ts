/** The bench's HTTP client for the API: one bearer token per caller. */
import { SEOUL_DISTRICTS } from '../db/data/seoul.js';
import { signToken } from '../shared/auth.js';
import { newReservationId } from '../shared/ids.js';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** The Retry-After header in milliseconds, when given in seconds. */
  retryAfterMs?: number;
}

export type Call = (method: string, route: string, body?: unknown) => Promise<Answer>;

export function caller(baseUrl: string, token: string): Call {
  const authorization = `Bearer ${token}`;
  return async (method, route, body) => {
    const headers: Record<string, string> = body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' };
    const res = await fetch(`${baseUrl}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
    return {
      status: res.status,
      body: (await res.json().catch(() => ({}))) as Record<string, unknown>,
      ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  };
}

export interface Api {
  admin: Call;
  /** A customer's own token (cached per customer id). */
  customer(sub: string): Promise<Call>;
  newProduct(stock: number): Promise<number>;
  /** POST /reservations as an admin on behalf of customer `bench-<i mod 5000>`, from a Seoul district. */
  reserve(productId: number, i: number): Promise<Answer>;
}

export async function apiFor(baseUrl: string, secret: string): Promise<Api> {
  const admin = caller(baseUrl, await signToken(secret, { role: 'admin', sub: 'bench' }));
  const customers = new Map<string, Call>();
  return {
    admin,
    async customer(sub) {
      if (!customers.has(sub)) customers.set(sub, caller(baseUrl, await signToken(secret, { role: 'customer', sub })));
      return customers.get(sub)!;
    },
    async newProduct(stock) {
      const sku = `bench-${newReservationId().toLowerCase()}`;
      const r = await admin('POST', '/products', { sku, name: 'Bench phone', brand: 'Bench', priceKrw: 1, stock });
      if (r.status !== 201) throw new Error(`creating a product answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.id as number;
    },
    reserve(productId, i) {
      const d = SEOUL_DISTRICTS[i % SEOUL_DISTRICTS.length]!;
      return admin('POST', '/reservations', { productId, customer: { id: `bench-${i % 5000}`, district: d.ko } });
    },
  };
}
