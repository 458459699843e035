/**
 * The launch burst: N customers (48 at a time), each a customer of its own, for N/10 units. A
 * customer's request is answered 201 (accepted) or 409 OUT_OF_STOCK (sold out, final) when it is
 * decided by itself, or 202 with a place in line when more than 32 units are being decided at once
 * or people wait: that customer follows its ticket after each Retry-After, as the page would, until
 * it ends (RESERVED: accepted; SOLD_OUT: sold out). The customer's slot is taken until its final
 * answer. Then the cancel storm: half of the accepted ones cancelled at once.
 */
import { waitUntil } from '../../platform/process.js';
import { countWithStatus, waitForCount, waitUntilSettled, type Ctx } from '../context.js';
import { reserveFollowing, type Followed } from '../follow.js';
import { closedLoop, summarize, type LatencySummary } from '../load.js';

export interface BurstResult {
  requests: number;
  units: number;
  clients: number;
  /** Customers whose final answer was a unit: 201, or a ticket RESERVED. */
  accepted: number;
  /** Customers whose final answer was sold out: 409 OUT_OF_STOCK, or a ticket SOLD_OUT. */
  sold_out: number;
  /** Customers answered 202 with a place in line, and how their tickets ended. */
  queued: number;
  accepted_from_line: number;
  sold_out_from_line: number;
  errors: number;
  error_examples: string[];
  seconds: number;
  throughput_per_s: number;
  /** HTTP requests per second: the reserves and the tickets' polls. */
  attempts_per_s: number;
  polls: number;
  latency: {
    /** Answers to the reserve itself: 201; the answers without a unit (409 and 202), of which 409 and of which 202. */
    accepted: LatencySummary;
    rejections: LatencySummary;
    sold_out: LatencySummary;
    queued: LatencySummary;
    /** Customers placed in line: from the first send to the ticket's final answer (polls after Retry-After included). */
    queued_to_final: LatencySummary;
    /** Every customer: from the first send to the final answer. */
    per_request: LatencySummary;
    polls: LatencySummary;
  };
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
  // Each customer reserved by an admin for a customer of its own (bench/http.ts), its ticket followed by the admin.
  const customer = (i: number) => reserveFollowing(() => ctx.api.reserve(product, i), ctx.api.admin);
  const loop = await closedLoop(requests, clients, customer, (k) => ctx.progress(`launch burst: ${k}/${requests}`));
  const answers: Followed[] = loop.results.map((r) => r.value ?? { outcome: 'error', answers: [], ms: r.ms, error: String(r.error) });
  const accepted = answers.filter((a) => a.outcome === 'accepted');
  await waitForCount(ctx, 'launch burst', product, 'CONFIRMED', accepted.length);
  const allConfirmedAfter = (performance.now() - t0) / 1000;
  const started = await ctx.db
    .selectFrom('reservations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('product_id', '=', product)
    .where('workflow_id', 'is not', null)
    .executeTakeFirstOrThrow();
  const sent = answers.flatMap((a) => a.answers);
  const latencyOf = (keep: (status: number, code?: string) => boolean) => summarize(sent.filter((x) => keep(x.status, x.code)).map((x) => x.ms));
  const soldOut = (status: number, code?: string) => status === 409 && code === 'OUT_OF_STOCK';
  // An API from before the line answered 503 STOCK_HELD instead of 202: counted among the answers without a unit, as then.
  const placed = (status: number, code?: string) => status === 202 || (status === 503 && code === 'STOCK_HELD');
  const queued = answers.filter((a) => a.ticket);
  const pollMs = queued.flatMap((a) => a.ticket!.pollMs);
  const errors = answers.filter((a) => a.outcome === 'error');
  return {
    requests,
    units,
    clients,
    accepted: accepted.length,
    sold_out: answers.filter((a) => a.outcome === 'sold_out').length,
    queued: queued.length,
    accepted_from_line: queued.filter((a) => a.outcome === 'accepted').length,
    sold_out_from_line: queued.filter((a) => a.outcome === 'sold_out').length,
    errors: errors.length,
    error_examples: [...new Set(errors.map((e) => e.error ?? '?'))].slice(0, 3),
    seconds: Math.round(loop.seconds * 10) / 10,
    throughput_per_s: Math.round(requests / loop.seconds),
    attempts_per_s: Math.round((sent.length + pollMs.length) / loop.seconds),
    polls: pollMs.length,
    latency: {
      accepted: latencyOf((status) => status === 201),
      rejections: latencyOf((status, code) => soldOut(status, code) || placed(status, code)),
      sold_out: latencyOf(soldOut),
      queued: latencyOf(placed),
      queued_to_final: summarize(queued.map((a) => a.ms)),
      per_request: summarize(answers.map((a) => a.ms)),
      polls: summarize(pollMs),
    },
    workflows_started: Number(started.n),
    all_confirmed_after_s: Math.round(allConfirmedAfter * 10) / 10,
    productId: product,
    acceptedIds: accepted.map((a) => a.reservationId!),
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
