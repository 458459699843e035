/**
 * The assignment service as the other processes reach it: over its HTTP API, with its token. The
 * API's /stores routes, the launch desk, the demo sign-in, the walk-in location, the reconciler and
 * retention use this, never the service's tables (docs/architecture.md, "The assignment boundary").
 * The worker's assign / release / complete go through app/assignment/activities.ts and its breaker.
 */
import type { z } from 'zod';
import type { CreateStoreSchema, StoreSchema, UpdateStoreSchema } from '../../api/schemas.js';

export type StoreView = z.infer<typeof StoreSchema>;
export type NewStore = z.infer<typeof CreateStoreSchema>;
export type StorePatch = z.infer<typeof UpdateStoreSchema>;

/** The service did not answer properly (down, unreachable, too slow, 5xx): try again later. */
export class AssignmentServiceUnavailable extends Error {
  override name = 'AssignmentServiceUnavailable';
}

export interface AssignmentClientOptions {
  url: string;
  /** ASSIGNMENT_TOKEN. */
  token: string;
  /** Per-request limit (2 s): a caller waits no longer for a service that hangs. */
  timeoutMs?: number;
  /** Sends a request (global fetch unless given: tests hand in the service's app in-process). */
  fetch?: (req: Request) => Response | Promise<Response>;
}

export function createAssignmentClient({ url, token, timeoutMs = 2_000, fetch: send = (req) => fetch(req) }: AssignmentClientOptions) {
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      const req = new Request(new URL(path, url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      res = await send(req);
    } catch (err) {
      throw new AssignmentServiceUnavailable(`assignment service unreachable: ${(err as Error).message}`);
    }
    if (res.status >= 500) throw new AssignmentServiceUnavailable(`assignment service answered ${res.status}`);
    return res;
  };
  /** The answer's body when it is one of `expected`; anything else is a fault of the caller's (token, request). */
  const read = async <T>(res: Response, expected: number[]): Promise<T> => {
    if (!expected.includes(res.status)) throw new Error(`assignment service answered ${res.status}: ${await res.text().catch(() => '')}`);
    return (await res.json()) as T;
  };

  return {
    /** Every store with its load. */
    async listStores(): Promise<StoreView[]> {
      return (await read<{ items: StoreView[] }>(await call('GET', '/stores'), [200])).items;
    },
    /** One store, or undefined. */
    async getStore(id: string): Promise<StoreView | undefined> {
      const res = await call('GET', `/stores/${encodeURIComponent(id)}`);
      return res.status === 404 ? undefined : read<StoreView>(res, [200]);
    },
    async createStore(store: NewStore): Promise<{ outcome: 'CREATED'; store: StoreView } | { outcome: 'ALREADY_EXISTS' }> {
      const res = await call('POST', '/stores', store);
      if (res.status === 409) return { outcome: 'ALREADY_EXISTS' };
      return { outcome: 'CREATED', store: await read<StoreView>(res, [201]) };
    },
    async updateStore(id: string, patch: StorePatch): Promise<{ outcome: 'UPDATED'; store: StoreView } | { outcome: 'NOT_FOUND' } | { outcome: 'BELOW_LOAD' }> {
      const res = await call('PATCH', `/stores/${encodeURIComponent(id)}`, patch);
      if (res.status === 404) return { outcome: 'NOT_FOUND' };
      if (res.status === 409) return { outcome: 'BELOW_LOAD' };
      return { outcome: 'UPDATED', store: await read<StoreView>(res, [200]) };
    },
    /** Every ACTIVE slot unchanged since `before`, by assignment key, a page at a time. */
    async *activeSlots(before: Date, pageSize = 1_000): AsyncGenerator<{ key: string; storeId: string | null }> {
      let after: string | null = null;
      do {
        const query = new URLSearchParams({ status: 'ACTIVE', before: before.toISOString(), limit: String(pageSize), ...(after ? { after } : {}) });
        const page: { items: { key: string; storeId: string | null }[]; next: string | null } = await read(await call('GET', `/assignments?${query}`), [200]);
        yield* page.items;
        after = page.next;
      } while (after);
    },
    /** Forgets released and completed slots that ended before `before`; how many. */
    async purgeEnded(before: Date): Promise<number> {
      const query = new URLSearchParams({ endedBefore: before.toISOString() });
      return (await read<{ deleted: number }>(await call('DELETE', `/assignments?${query}`), [200])).deleted;
    },
  };
}
export type AssignmentClient = ReturnType<typeof createAssignmentClient>;
