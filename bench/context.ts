/** What every scenario gets: the API, the database, a Temporal client, the trees to measure, output. */
import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ReservationStatus } from '../app/reservation/contract.js';
import { waitUntil } from '../platform/process.js';
import type { Api } from './http.js';
import type { Roots } from './procfs.js';

export interface Ctx {
  api: Api;
  db: Kysely<Database>;
  client: Client;
  /** The task queue of the in-process baseline worker. */
  baselineQueue: string;
  /** The process trees whose CPU each measured phase reports. */
  roots: Roots;
  /**
   * Whether the stack's Temporal knows the ProductId and ReservationStatus search attributes (unset:
   * it does); bench:compare may run a ref without them, and then waits for the read model alone.
   */
  statusSearchAttribute?: boolean;
  quick: boolean;
  progress(line: string): void;
  done(line: string): void;
}

/** How many of a product's reservations are in `status` in the read model. */
export async function countWithStatus(db: Kysely<Database>, productId: number, status: ReservationStatus): Promise<number> {
  const row = await db
    .selectFrom('reservations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('product_id', '=', productId)
    .where('status', '=', status)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Waits until at least `n` of a product's reservations are in `status`; throws after `timeoutMs`. */
export async function waitForCount(ctx: Ctx, label: string, productId: number, status: ReservationStatus, n: number, timeoutMs = 600_000): Promise<void> {
  const ok = await waitUntil(async () => {
    const have = await countWithStatus(ctx.db, productId, status);
    ctx.progress(`${label}: ${have}/${n} ${status}`);
    return have >= n;
  }, timeoutMs, 250);
  if (!ok) throw new Error(`${label}: fewer than ${n} reservations ${status} after ${timeoutMs / 1000} s`);
}

/** Waits until the visibility store counts at least (or, with `exactly`, exactly) `n` workflows matching `query`. */
export async function waitForWorkflows(ctx: Ctx, label: string, query: string, n: number, timeoutMs = 600_000): Promise<void> {
  const ok = await waitUntil(async () => {
    const { count } = await ctx.client.workflow.count(query);
    ctx.progress(`${label}: ${count}/${n} (${query})`);
    return n === 0 ? count === 0 : count >= n;
  }, timeoutMs, 250);
  if (!ok) throw new Error(`${label}: ${query} did not reach ${n} within ${timeoutMs / 1000} s`);
}

const settledColumns = new WeakMap<object, Promise<boolean>>();

/**
 * Whether the database's notifications can end FAILED (`failed_at`): bench:compare may measure a
 * ref from before the notifier, whose rows are only ever sent.
 */
function canFail(db: Kysely<Database>): Promise<boolean> {
  if (!settledColumns.has(db)) {
    const found = sql<{ n: number }>`select count(*)::int as n from information_schema.columns where table_name = 'notifications' and column_name = 'failed_at'`
      .execute(db)
      .then((r) => r.rows[0]!.n > 0);
    settledColumns.set(db, found);
  }
  return settledColumns.get(db)!;
}

/** Notifications not yet settled (sent, or refused for good). */
const unsettled = async (db: Kysely<Database>) => ((await canFail(db)) ? sql<boolean>`n.sent_at is null and n.failed_at is null` : sql<boolean>`n.sent_at is null`);

/** Waits until every notification about a product's reservations has been sent. */
export async function waitForOutbox(ctx: Ctx, label: string, productId: number, timeoutMs = 600_000): Promise<void> {
  const pending = await unsettled(ctx.db);
  const ok = await waitUntil(async () => {
    const { n } = await ctx.db
      .selectFrom('notifications as n')
      .innerJoin('reservations as r', 'r.id', 'n.reservation_id')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('r.product_id', '=', productId)
      .where(pending)
      .executeTakeFirstOrThrow();
    ctx.progress(`${label}: ${n} notifications unsent`);
    return Number(n) === 0;
  }, timeoutMs, 250);
  if (!ok) throw new Error(`${label}: notifications still unsent after ${timeoutMs / 1000} s`);
}

/**
 * Waits until what earlier phases left running has ended, so that a phase measures itself: the
 * outbox sent (the notifier's drain is paced, so a burst's refusals are told over the following seconds)
 * and no cancelled reservation still releasing its store slot.
 */
export async function waitUntilSettled(ctx: Ctx, label: string, timeoutMs = 600_000): Promise<void> {
  const pending = await unsettled(ctx.db);
  const ok = await waitUntil(async () => {
    const { n } = await ctx.db
      .selectFrom('notifications as n')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where(pending)
      .executeTakeFirstOrThrow();
    const releasing = ctx.statusSearchAttribute === false ? 0 : (await ctx.client.workflow.count('ExecutionStatus="Running" AND ReservationStatus="CANCELLED"')).count;
    ctx.progress(`${label}: settling (${n} notifications unsent, ${releasing} slot releases running)`);
    return Number(n) === 0 && releasing === 0;
  }, timeoutMs, 500);
  if (!ok) throw new Error(`${label}: did not settle within ${timeoutMs / 1000} s`);
  await new Promise((r) => setTimeout(r, 2_000));
}

/**
 * Watches reservations until each reaches a status, with one query per tick for all of them (rather
 * than one poll per reservation, which would load the database the bench is measuring).
 */
export function statusWatcher(db: Kysely<Database>, tickMs = 100) {
  const waiting = new Map<string, { status: ReservationStatus; resolve: (reached: boolean) => void; deadline: number }>();
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    const ids = [...waiting.keys()];
    if (ids.length > 0) {
      const rows = await db.selectFrom('reservations').select(['id', 'status']).where('id', 'in', ids).execute();
      const now = Date.now();
      const statusOf = new Map(rows.map((r) => [r.id, r.status]));
      for (const [id, w] of waiting) {
        const reached = statusOf.get(id) === w.status;
        if (reached || now > w.deadline) {
          waiting.delete(id);
          w.resolve(reached);
        }
      }
    }
  };
  // A failed query is simply tried again at the next tick (deadlines still apply).
  const tick = () =>
    void check()
      .catch(() => undefined)
      .finally(() => (timer = waiting.size > 0 ? setTimeout(tick, tickMs) : undefined));
  return {
    /** Resolves true when the reservation is in `status`, false if it is not within `timeoutMs`. */
    when(id: string, status: ReservationStatus, timeoutMs: number): Promise<boolean> {
      return new Promise((resolve) => {
        waiting.set(id, { status, resolve, deadline: Date.now() + timeoutMs });
        timer ??= setTimeout(tick, tickMs);
      });
    },
  };
}
