/** The bench's HTTP client for the API: one bearer token per caller. */
import http from 'node:http';
import { SEOUL_DISTRICTS } from '../shared/districts.js';
import { signToken } from '../platform/auth.js';
import { newReservationId } from '../platform/ids.js';
import { normalizePhone } from '../platform/phone.js';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** The Retry-After header in milliseconds, when given in seconds. */
  retryAfterMs?: number;
}

export type Call = (method: string, route: string, body?: unknown) => Promise<Answer>;

// Node's own HTTP client on kept-alive connections: a launch burst's thousands of requests a second
// from one process made undici's fetch the bottleneck (its queueing showed up as the API's latency).
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function request(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; retryAfter?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function caller(baseUrl: string, token: string): Call {
  const authorization = `Bearer ${token}`;
  return async (method, route, body) => {
    const headers: Record<string, string> = body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' };
    const res = await request(new URL(route, baseUrl), method, headers, body === undefined ? undefined : JSON.stringify(body));
    const retryAfter = Number(res.retryAfter ?? NaN);
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(res.text) as Record<string, unknown>;
    } catch {
      // not JSON (an empty body): left empty
    }
    return { status: res.status, body: parsed, ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}) };
  };
}

export interface Api {
  admin: Call;
  /** A customer whose token carries a verified phone number (E.164), as a launch's customers must; not cached. */
  verifiedCustomer(sub: string, phone: string): Promise<Call>;
  /**
   * A new customer of its own, as a real user is: `<tag>-<n>` (n counting every one of this process)
   * with a verified number of its own, +8210 2xxx xxxx (the launch day's customers have 1xxx xxxx).
   */
  newCustomer(tag: string): Promise<Call>;
  newProduct(stock: number): Promise<number>;
  /**
   * POST /reservations as an admin on behalf of a customer of its own (`bench-<n>`, n counting every
   * call of this process), from the Seoul district of `i`: a sale allows one unit per customer, so a
   * customer reserving twice would be refused LIMIT_REACHED.
   */
  reserve(productId: number, i: number): Promise<Answer>;
}

export async function apiFor(baseUrl: string, secret: string): Promise<Api> {
  const admin = caller(baseUrl, await signToken(secret, { role: 'admin', sub: 'bench' }));
  let reserved = 0;
  let made = 0;
  return {
    admin,
    async verifiedCustomer(sub, phone) {
      return caller(baseUrl, await signToken(secret, { role: 'customer', sub, phone }));
    },
    async newCustomer(tag) {
      const n = made++;
      if (n >= 10_000_000) throw new Error('the bench ran out of phone numbers for new customers');
      const phone = `+8210${20_000_000 + n}`;
      // One in 10,000 checked, as the launch day does: the range is valid as a whole.
      if (n % 10_000 === 0 && normalizePhone(phone) !== phone) throw new Error(`${phone} is not a valid number`);
      return caller(baseUrl, await signToken(secret, { role: 'customer', sub: `${tag}-${n}`, phone }));
    },
    async newProduct(stock) {
      const sku = `bench-${newReservationId().toLowerCase()}`;
      const r = await admin('POST', '/products', { sku, name: 'Bench phone', brand: 'Bench', priceKrw: 1, stock });
      if (r.status !== 201) throw new Error(`creating a product answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.id as number;
    },
    reserve(productId, i) {
      const d = SEOUL_DISTRICTS[i % SEOUL_DISTRICTS.length]!;
      return admin('POST', '/reservations', { productId, customer: { id: `bench-${reserved++}`, district: d.ko } });
    },
  };
}
