/**
 * Sustained rate (open model): the rate grows by 25 % a step until p99 passes the limit or an error
 * appears; the last rate that held is the knee. At half the knee: the plain latencies, then
 * reservations cancelled shortly after each is confirmed, timing cancel → stock restored. Each
 * request is a customer of its own; one answered 202 (a place in line: more than 32 units being
 * decided at once) follows its ticket, and its latency is to the ticket's final answer.
 */
import { sql } from 'kysely';
import { statusWatcher, waitForOutbox, waitUntilSettled, type Ctx } from '../context.js';
import { reserveFollowing } from '../follow.js';
import { openLoop, summarize, type LatencySummary } from '../load.js';
import { releaseLatencies } from './burst.js';

const P99_LIMIT_MS = 300;
const FIRST_RATE = 10;
const STEP_FACTOR = 1.25;
const MAX_RATE = 1_000;
const MIN_RATE = 1;

interface Step extends LatencySummary {
  rate: number;
  requests: number;
  errors: number;
  /** Requests answered 202 with a place in line (followed to their final answer). */
  queued: number;
}

export interface SustainedResult {
  knee_per_s: number;
  steps: Step[];
  half: Step;
  /** At half the knee: from each change (its outbox row queued) to its message settled. */
  notified: LatencySummary;
}

const roundRate = (r: number) => Math.round(r * 10) / 10;

async function step(ctx: Ctx, product: number, rate: number, seconds: number): Promise<Step & { reservationIds: string[] }> {
  const count = Math.max(1, Math.round(rate * seconds));
  const loop = await openLoop(rate, count, (i) => reserveFollowing(() => ctx.api.reserve(product, i), ctx.api.admin));
  const errors = loop.results.filter((r) => r.error || r.value?.outcome !== 'accepted').length;
  const queued = loop.results.filter((r) => r.value?.ticket).length;
  const reservationIds = loop.results.flatMap((r) => (r.value?.reservationId ? [r.value.reservationId] : []));
  return { rate, requests: count, errors, queued, ...summarize(loop.results.map((r) => r.ms)), reservationIds };
}

/**
 * How long each message of these reservations waited in the outbox: queued (with its change) to
 * settled. The bench's customers have no number on file, so the notifier renders each message and
 * settles it as failed (NO_RECIPIENT) where it would send it: the drain's path but the sink's call.
 */
async function notifiedAfter(ctx: Ctx, product: number, reservationIds: string[]): Promise<LatencySummary> {
  await waitForOutbox(ctx, 'sustained rate: messages at half the knee', product);
  if (reservationIds.length === 0) return summarize([]);
  const rows = await ctx.db
    .selectFrom('notifications')
    .select(sql<number>`extract(epoch from (coalesce(sent_at, failed_at) - created_at)) * 1000`.as('ms'))
    .where('reservation_id', 'in', reservationIds)
    .execute();
  return summarize(rows.map((r) => Number(r.ms)));
}

export async function sustainedRate(ctx: Ctx, stepSeconds: number): Promise<SustainedResult> {
  await waitUntilSettled(ctx, 'sustained rate');
  const product = await ctx.api.newProduct(1_000_000);
  const steps: Step[] = [];
  const holds = async (rate: number) => {
    ctx.progress(`sustained rate: ${rate}/s …`);
    const { reservationIds: _, ...s } = await step(ctx, product, rate, stepSeconds);
    steps.push(s);
    return s.p99_ms <= P99_LIMIT_MS && s.errors === 0;
  };
  let knee = 0;
  if (await holds(FIRST_RATE)) {
    knee = FIRST_RATE;
    for (let rate = roundRate(knee * STEP_FACTOR); rate <= MAX_RATE && (await holds(rate)); rate = roundRate(rate * STEP_FACTOR)) knee = rate;
  } else {
    // Not even the first rate holds (a busy machine): step down instead, so there is still a knee.
    for (let rate = roundRate(FIRST_RATE / STEP_FACTOR); rate >= MIN_RATE; rate = roundRate(rate / STEP_FACTOR)) {
      if (await holds(rate)) {
        knee = rate;
        break;
      }
    }
  }
  const { reservationIds, ...half } = await step(ctx, product, halfOf(knee), stepSeconds);
  return { knee_per_s: knee, steps, half, notified: await notifiedAfter(ctx, product, reservationIds) };
}

/** Half the knee (at least 1/s, so a machine with no knee still gets a figure). */
export const halfOf = (knee: number) => Math.max(MIN_RATE, roundRate(knee / 2));

export interface CancelAtRateResult {
  rate: number;
  reservations: number;
  /** Reserves answered 202 with a place in line (followed to their final answer). */
  queued: number;
  cancels: number;
  /** Cancelled after a wait for CONFIRMED that timed out (so during the assignment instead). */
  cancelled_unconfirmed: number;
  errors: number;
  reserve: LatencySummary;
  restored: LatencySummary;
}

// How long a reservation may take to be confirmed before it is cancelled anyway.
const CONFIRM_WAIT_MS = 5_000;

export async function cancelAtRate(ctx: Ctx, rate: number, seconds: number): Promise<CancelAtRateResult> {
  const product = await ctx.api.newProduct(1_000_000);
  const watcher = statusWatcher(ctx.db);
  const requestedAt = new Map<string, number>();
  let unconfirmed = 0;
  let reserveErrors = 0;
  let cancelErrors = 0;
  const loop = await openLoop(rate, Math.max(1, Math.round(rate * seconds)), async (i) => {
    const r = await reserveFollowing(() => ctx.api.reserve(product, i), ctx.api.admin);
    if (r.outcome !== 'accepted') return void reserveErrors++;
    const id = r.reservationId!;
    // Cancelled in the background, so the reserve latency measured is the reserve's alone.
    void (async () => {
      if (!(await watcher.when(id, 'CONFIRMED', CONFIRM_WAIT_MS))) unconfirmed++;
      const at = Date.now();
      const c = await ctx.api.admin('POST', `/reservations/${id}/cancel`, { reason: 'bench: cancel at rate' });
      if (c.status === 202) requestedAt.set(id, at);
      else cancelErrors++;
    })().catch(() => cancelErrors++);
    return r;
  });
  const accepted = loop.results.filter((r) => r.value?.outcome === 'accepted').length;
  // Every accepted one is cancelled (or counted as an error) before the latencies are read.
  const settled = () => requestedAt.size + cancelErrors >= accepted;
  for (const deadline = Date.now() + 60_000; !settled() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
  return {
    rate,
    reservations: loop.results.length,
    queued: loop.results.filter((r) => r.value?.ticket).length,
    cancels: requestedAt.size,
    cancelled_unconfirmed: unconfirmed,
    errors: reserveErrors + cancelErrors + loop.results.filter((r) => r.error).length,
    reserve: summarize(loop.results.map((r) => r.ms)),
    restored: summarize(await releaseLatencies(ctx, requestedAt)),
  };
}
