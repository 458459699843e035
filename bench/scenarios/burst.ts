/**
 * The launch burst: N customers (48 at a time) for N/10 units. A customer's request ends with 201
 * (accepted) or 409 OUT_OF_STOCK (sold out, final); a 503 STOCK_HELD (every unit left is held by
 * decisions still in flight, nothing recorded) is repeated after its Retry-After, as an app would.
 * Then the cancel storm: half of the accepted ones cancelled at once.
 */
import { waitUntil } from '../../shared/process.js';
import { countWithStatus, waitForCount, waitUntilSettled, type Ctx } from '../context.js';
import { closedLoop, sleep, summarize, type LatencySummary } from '../load.js';
import type { Answer } from '../http.js';

type Outcome = 'accepted' | 'sold_out' | 'stock_held' | 'error';

function outcomeOf(a: Answer | undefined): Outcome {
  if (!a) return 'error';
  if (a.status === 201) return 'accepted';
  if (a.status === 409 && a.body.code === 'OUT_OF_STOCK') return 'sold_out';
  if (a.status === 503 && a.body.code === 'STOCK_HELD') return 'stock_held';
  return 'error';
}

interface Attempt {
  outcome: Outcome;
  ms: number;
}

interface CustomerRequest {
  outcome: Exclude<Outcome, 'stock_held'>;
  ms: number;
  attempts: Attempt[];
  id?: string;
  error?: string;
}

// A STOCK_HELD answer without a Retry-After header is repeated after this long.
const DEFAULT_RETRY_MS = 1_000;

/** One customer: sends, and repeats after each STOCK_HELD until the answer is final. */
async function customer(ctx: Ctx, product: number, i: number): Promise<CustomerRequest> {
  const attempts: Attempt[] = [];
  const first = performance.now();
  for (;;) {
    const t = performance.now();
    let answer: Answer | undefined;
    let error: string | undefined;
    try {
      answer = await ctx.api.reserve(product, i);
    } catch (err) {
      error = String(err);
    }
    const outcome = outcomeOf(answer);
    attempts.push({ outcome, ms: performance.now() - t });
    if (outcome !== 'stock_held') {
      if (outcome === 'error') error ??= `${answer!.status} ${JSON.stringify(answer!.body).slice(0, 200)}`;
      return { outcome, ms: performance.now() - first, attempts, id: answer?.body.id as string | undefined, ...(error ? { error } : {}) };
    }
    await sleep(answer!.retryAfterMs ?? DEFAULT_RETRY_MS);
  }
}

export interface BurstResult {
  requests: number;
  units: number;
  clients: number;
  accepted: number;
  sold_out: number;
  stock_held_answers: number;
  errors: number;
  error_examples: string[];
  seconds: number;
  throughput_per_s: number;
  attempts_per_s: number;
  latency: { accepted: LatencySummary; rejections: LatencySummary; sold_out: LatencySummary; stock_held: LatencySummary; per_request: LatencySummary };
  workflows_started: number;
  all_confirmed_after_s: number;
  productId: number;
  acceptedIds: string[];
}

export async function launchBurst(ctx: Ctx, requests: number, clients: number): Promise<BurstResult> {
  await waitUntilSettled(ctx, 'launch burst');
  const units = Math.floor(requests / 10);
  const product = await ctx.api.newProduct(units);
  const t0 = performance.now();
  const loop = await closedLoop(requests, clients, (i) => customer(ctx, product, i), (k) => ctx.progress(`launch burst: ${k}/${requests}`));
  const answers = loop.results.map((r) => r.value ?? { outcome: 'error' as const, ms: r.ms, attempts: [], error: String(r.error) });
  const attempts = answers.flatMap((a) => a.attempts);
  const accepted = answers.filter((a) => a.outcome === 'accepted');
  await waitForCount(ctx, 'launch burst', product, 'CONFIRMED', accepted.length);
  const allConfirmedAfter = (performance.now() - t0) / 1000;
  const started = await ctx.db
    .selectFrom('reservations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('product_id', '=', product)
    .where('workflow_id', 'is not', null)
    .executeTakeFirstOrThrow();
  const latencyOf = (o: Outcome[]) => summarize(attempts.filter((a) => o.includes(a.outcome)).map((a) => a.ms));
  const errors = answers.filter((a) => a.outcome === 'error');
  return {
    requests,
    units,
    clients,
    accepted: accepted.length,
    sold_out: answers.filter((a) => a.outcome === 'sold_out').length,
    stock_held_answers: attempts.filter((a) => a.outcome === 'stock_held').length,
    errors: errors.length,
    error_examples: [...new Set(errors.map((e) => e.error ?? '?'))].slice(0, 3),
    seconds: Math.round(loop.seconds * 10) / 10,
    throughput_per_s: Math.round(requests / loop.seconds),
    attempts_per_s: Math.round(attempts.length / loop.seconds),
    latency: {
      accepted: latencyOf(['accepted']),
      rejections: latencyOf(['sold_out', 'stock_held']),
      sold_out: latencyOf(['sold_out']),
      stock_held: latencyOf(['stock_held']),
      per_request: summarize(answers.map((a) => a.ms)),
    },
    workflows_started: Number(started.n),
    all_confirmed_after_s: Math.round(allConfirmedAfter * 10) / 10,
    productId: product,
    acceptedIds: accepted.map((a) => a.id!),
  };
}

/** Times from each cancel request to its RELEASE row in the stock ledger (when the stock came back). */
export async function releaseLatencies(ctx: Ctx, requestedAt: Map<string, number>): Promise<number[]> {
  const ids = [...requestedAt.keys()];
  if (ids.length === 0) return [];
  const released = () =>
    ctx.db.selectFrom('stock_ledger').select(['reservation_id', 'created_at']).where('reservation_id', 'in', ids).where('kind', '=', 'RELEASE').execute();
  const ok = await waitUntil(async () => {
    const n = (await released()).length;
    ctx.progress(`stock restored: ${n}/${ids.length}`);
    return n >= ids.length;
  }, 600_000, 250);
  if (!ok) throw new Error(`cancellations: not every stock release arrived`);
  return (await released()).map((r) => r.created_at.getTime() - requestedAt.get(r.reservation_id!)!);
}

export interface CancelStormResult {
  cancels: number;
  refused: number;
  restored: LatencySummary;
}

export async function cancelStorm(ctx: Ctx, burst: BurstResult, clients: number): Promise<CancelStormResult> {
  const ids = burst.acceptedIds.slice(0, Math.floor(burst.acceptedIds.length / 2));
  const requestedAt = new Map<string, number>();
  const storm = await closedLoop(ids.length, clients, async (i) => {
    requestedAt.set(ids[i]!, Date.now());
    return ctx.api.admin('POST', `/reservations/${ids[i]}/cancel`, { reason: 'bench: cancel storm' });
  });
  const refused = storm.results.filter((r) => r.value?.status !== 202);
  if (refused.length > 0) throw new Error(`cancel storm: ${refused.length} refused, e.g. ${JSON.stringify(refused[0]!.value?.body ?? String(refused[0]!.error))}`);
  const restored = summarize(await releaseLatencies(ctx, requestedAt));
  await waitUntil(async () => (await countWithStatus(ctx.db, burst.productId, 'CANCELLED')) >= ids.length, 120_000, 250);
  return { cancels: ids.length, refused: refused.length, restored };
}
