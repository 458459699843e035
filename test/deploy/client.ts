/** The deploy tier's client of the published API: tokens signed with the stack's JWT_SECRET, JSON calls. */
import { signToken, type Principal } from '../../platform/auth.js';
import { demoNameFor, demoPhoneFor } from '../../db/data/demo.js';

export type Body = Record<string, any>;

export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`still not there after ${timeoutMs / 1000} s: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 500));
    value = await read();
  }
  return value;
}

/** A customer's token as the identity provider would issue it: their verified number, their name. */
export const customerToken = (secret: string, sub: string, phone = demoPhoneFor(sub)) =>
  signToken(secret, { role: 'customer', sub, phone: phone.replaceAll('-', ''), name: demoNameFor(sub) ?? '고객' } satisfies Principal, 3600);

export const adminToken = (secret: string) => signToken(secret, { role: 'admin', sub: 'deploy-test' }, 3600);

export interface Answer {
  status: number;
  body: Body;
  /** Retry-After, in seconds, when the answer had one. */
  retryAfter?: number;
}

export function client(baseUrl: string) {
  return async (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const retryAfter = res.headers.get('retry-after');
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Body, ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}) };
  };
}
