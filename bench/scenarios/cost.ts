/**
 * What one reservation costs, next to the baselines, in the same run and interleaved run after run
 * (so all kinds share the machine's mood): ours (the HTTP reserve), the skeleton of our workflow's
 * shape, the bare workflow, optionally the skeleton of the shape before; plus our stock decrement
 * against the raw SQL of a decrement. Each batch is a closed loop; the CPU of every process tree is
 * read before it and once its work has settled, so the figures are CPU per accepted-and-confirmed
 * reservation (or per workflow), background work included.
 */
import { WithStartWorkflowOperation } from '@temporalio/client';
import { sql } from 'kysely';
import { createStockActivities } from '../../app/product/activities.js';
import { SearchAttributes } from '../../app/reservation/contract.js';
import { newReservationId } from '../../platform/ids.js';
import { waitForCount, waitForOutbox, waitForWorkflows, type Ctx } from '../context.js';
import { reserveFollowing } from '../follow.js';
import { closedLoop, sleep, spread, summarize } from '../load.js';
import { cpuMsBetween, cpuTicks } from '../procfs.js';
import { skeletonCancel, skeletonReserve, type bareWorkflow, type skeletonWorkflow } from '../workflows.js';

export type WorkflowKind = 'ours' | 'skeleton' | 'bare';

export interface CostOptions {
  runs: number;
  /** Reservations (workflows) per measured batch. */
  perBatch: number;
  concurrency: number;
  /** Calls per batch of the decrement comparison. */
  decrementBatch: number;
}

export interface Batch {
  kind: WorkflowKind;
  run: number;
  n: number;
  /** From the first request to the last answer. */
  seconds: number;
  /** From the "before" to the "after" CPU snapshot (answers plus settling). */
  window_seconds: number;
  throughput_per_s: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms: Record<string, number>;
}

/** One kind's batch: how to send item i, and when the batch's work has settled (after the answers). */
interface Plan {
  send(i: number): Promise<unknown>;
  settled(): Promise<void>;
  /** Work that finishes after the measured window and must not leak into the next batch. */
  drain?(): Promise<void>;
}

type Planner = (ctx: Ctx, n: number, tag: string) => Promise<Plan>;

/**
 * Ours: the HTTP reserve, each for a customer of its own (a 202, a place in line, is followed to its
 * reservation: 16 clients keep below the 32 units decided at once, so none is expected); settled
 * when the read model and the search attribute both say CONFIRMED.
 */
const ours: Planner = async (ctx, n) => {
  const product = await ctx.api.newProduct(1_000_000);
  return {
    async send(i) {
      const r = await reserveFollowing(() => ctx.api.reserve(product, i), ctx.api.admin);
      if (r.outcome !== 'accepted') throw new Error(r.error ?? `reserve ended ${r.outcome}`);
    },
    async settled() {
      await waitForCount(ctx, 'ours', product, 'CONFIRMED', n);
      // The workflow task after the read-model write (search attributes, the hold timer) is part of it.
      if (ctx.statusSearchAttribute !== false) await waitForWorkflows(ctx, 'ours', `ProductId="${product}" AND ReservationStatus="CONFIRMED"`, n);
      // So are its KakaoTalk messages, sent by the Python notifier.
      await waitForOutbox(ctx, 'ours', product);
    },
  };
};

/** The start options our API gives a reservation, for a skeleton of the same shape. */
function startLike(ctx: Ctx, workflowType: string, tag: string, i: number, args: [number?] = []) {
  // Both skeletons take at most the hold's length and return nothing.
  return new WithStartWorkflowOperation<typeof skeletonWorkflow>(workflowType, {
    workflowId: `bench-${tag}-${i}`,
    args,
    taskQueue: ctx.baselineQueue,
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    memo: { product: 'Bench phone', quantity: 1, fulfilment: 'PICKUP' },
    staticSummary: `Bench phone ×1 · PICKUP · customer bench-${i % 5000}`,
    typedSearchAttributes: [
      { key: SearchAttributes.status, value: 'PENDING' },
      { key: SearchAttributes.productId, value: tag },
      { key: SearchAttributes.customerId, value: `bench-${i % 5000}` },
    ],
  });
}

// Longer than any batch: no skeleton's hold ends inside the measured window (ours hold for 7 days).
const MEASURED_HOLD_MS = 3_600_000;

/**
 * The skeleton: settled when every one has reached the hold (CONFIRMED), as ours; then each is
 * ended with its cancel signal, outside the measured window.
 */
const skeleton: Planner = async (ctx, n, tag) => ({
  send: (i) =>
    ctx.client.workflow.executeUpdateWithStart(skeletonReserve, {
      startWorkflowOperation: startLike(ctx, 'skeletonWorkflow', tag, i, [MEASURED_HOLD_MS]),
      updateId: 'reserve',
    }),
  settled: () => waitForWorkflows(ctx, 'skeleton', `ProductId="${tag}" AND ReservationStatus="CONFIRMED"`, n),
  async drain() {
    await closedLoop(n, 16, (i) => ctx.client.workflow.getHandle(`bench-${tag}-${i}`).signal(skeletonCancel));
    await waitForWorkflows(ctx, 'skeleton drain', `ProductId="${tag}" AND ExecutionStatus="Running"`, 0);
  },
});

/** The bare workflow: the answer is its end. */
const bare: Planner = async (ctx) => ({
  send: () => ctx.client.workflow.execute<typeof bareWorkflow>('bareWorkflow', { workflowId: `bench-bare-${newReservationId()}`, taskQueue: ctx.baselineQueue }),
  settled: async () => undefined,
});

const PLANNERS: Record<WorkflowKind, Planner> = { ours, skeleton, bare };

export const WARM_UP = 64;
// A pause before each batch, so the previous one's after-effects (GC, autovacuum) fall mostly outside it.
const PAUSE_MS = 1_000;

/** One measured batch of a kind (bench:compare measures ours alone, on each of two stacks). */
export async function measureBatch(ctx: Ctx, kind: WorkflowKind, run: number, n: number, concurrency: number): Promise<Batch> {
  const plan = await PLANNERS[kind](ctx, n, `${kind}-${run}-${newReservationId()}`);
  await sleep(PAUSE_MS);
  const before = cpuTicks(ctx.roots);
  const t0 = performance.now();
  const loop = await closedLoop(n, concurrency, plan.send, (k) => ctx.progress(`run ${run}: ${kind} ${k}/${n}`));
  const failed = loop.results.filter((r) => r.error);
  if (failed.length > 0) throw new Error(`${kind}: ${failed.length} of ${n} failed: ${String(failed[0]!.error)}`);
  await plan.settled();
  const after = cpuTicks(ctx.roots);
  const windowSeconds = (performance.now() - t0) / 1000;
  await plan.drain?.();
  const latency = summarize(loop.results.map((r) => r.ms));
  return {
    kind,
    run,
    n,
    seconds: Math.round(loop.seconds * 100) / 100,
    window_seconds: Math.round(windowSeconds * 100) / 100,
    throughput_per_s: Math.round((n / loop.seconds) * 10) / 10,
    p50_ms: latency.p50_ms,
    p99_ms: latency.p99_ms,
    cpu_ms: cpuMsBetween(before, after),
  };
}

/** Our stock decrement (the activity's statements) against the raw SQL of one, at the same concurrency. */
async function decrementBatches(ctx: Ctx, n: number, concurrency: number, products: { ours: number; raw: number }) {
  const stock = createStockActivities({ db: ctx.db });
  const ourDecrement = await closedLoop(n, concurrency, () =>
    stock.reserveStock({
      reservationId: newReservationId(),
      productId: products.ours,
      quantity: 1,
      customerId: 'bench',
      fulfilment: 'PICKUP',
      policy: { assignmentDeadlineMs: 1, holdPeriodMs: 1, reminderBeforeMs: 0 },
    }),
  );
  const rawSql = await closedLoop(n, concurrency, () =>
    ctx.db.transaction().execute(async (trx) => {
      const r = await sql<{ stock: number }>`update products set stock = stock - 1 where id = ${products.raw} and stock >= 1 returning stock`.execute(trx);
      if (r.rows.length) {
        // No reservation behind it (the invariants allow a reservation's move only with the reservation).
        await sql`insert into stock_ledger (product_id, reservation_id, kind, delta, idempotency_key) values (${products.raw}, null, 'RESERVE', -1, ${`raw:${newReservationId()}${newReservationId()}`})`.execute(trx);
      }
    }),
  );
  for (const [name, r] of [['our decrement', ourDecrement], ['raw SQL', rawSql]] as const) {
    const failed = r.results.filter((x) => x.error);
    if (failed.length > 0) throw new Error(`${name}: ${failed.length} of ${n} failed: ${String(failed[0]!.error)}`);
  }
  return {
    ourDecrement: summarize(ourDecrement.results.map((r) => r.ms)).p50_ms,
    rawSql: summarize(rawSql.results.map((r) => r.ms)).p50_ms,
  };
}

export interface CostResult {
  batches: Batch[];
  decrement: { run: number; our_decrement_p50_ms: number; raw_sql_p50_ms: number }[];
  /** Pooled over the runs: CPU ms per reservation (workflow) for each process tree. */
  cpu_ms_per_item: Record<string, Record<string, number>>;
  /** The raw-SQL product: its stock moved outside any reservation, so the invariant check leaves it out. */
  rawSqlProduct: number;
}

export async function measureCost(ctx: Ctx, o: CostOptions): Promise<CostResult> {
  const kinds: WorkflowKind[] = ['ours', 'skeleton', 'bare'];
  // Warm-up (not measured): the first requests compile code paths and fill caches in every process.
  for (const kind of kinds) await measureBatch(ctx, kind, 0, Math.min(WARM_UP, o.perBatch), o.concurrency);
  const products = { ours: await ctx.api.newProduct(1_000_000), raw: await ctx.api.newProduct(1_000_000) };
  const batches: Batch[] = [];
  const decrement: CostResult['decrement'] = [];
  for (let run = 1; run <= o.runs; run++) {
    for (const kind of kinds) batches.push(await measureBatch(ctx, kind, run, o.perBatch, o.concurrency));
    const d = await decrementBatches(ctx, o.decrementBatch, o.concurrency, products);
    decrement.push({ run, our_decrement_p50_ms: d.ourDecrement, raw_sql_p50_ms: d.rawSql });
    ctx.done(`cost run ${run}/${o.runs}: ${batches.slice(-kinds.length).map((b) => `${b.kind} ${b.throughput_per_s}/s`).join(', ')}`);
  }
  return { batches, decrement, cpu_ms_per_item: pooledCpu(batches, kinds), rawSqlProduct: products.raw };
}

/** CPU ms per item for each kind and tree, pooled over the runs (ticks are 10 ms: pooling keeps the resolution). */
function pooledCpu(batches: Batch[], kinds: WorkflowKind[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const kind of kinds) {
    const mine = batches.filter((b) => b.kind === kind);
    const items = mine.reduce((s, b) => s + b.n, 0);
    const per: Record<string, number> = {};
    for (const b of mine) for (const [tree, ms] of Object.entries(b.cpu_ms)) per[tree] = (per[tree] ?? 0) + ms;
    out[kind] = Object.fromEntries(Object.entries(per).map(([tree, ms]) => [tree, Math.round((ms / items) * 100) / 100]));
  }
  return out;
}

/** Ratios of the interleaved runs: each run's ratio, then their median and range. */
export function costRatios(cost: CostResult) {
  const of = (kind: WorkflowKind) => cost.batches.filter((b) => b.kind === kind);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const ratio = (a: number[], b: number[]) => {
    const s = spread(a.map((x, i) => x / b[i]!));
    return { value: r2(s.median), min: r2(s.min), max: r2(s.max), runs: a.length };
  };
  return {
    throughput_ours_over_bare: ratio(of('ours').map((b) => b.throughput_per_s), of('bare').map((b) => b.throughput_per_s)),
    p50_ours_over_skeleton: ratio(of('ours').map((b) => b.p50_ms), of('skeleton').map((b) => b.p50_ms)),
    p50_skeleton_over_bare: ratio(of('skeleton').map((b) => b.p50_ms), of('bare').map((b) => b.p50_ms)),
    p50_our_decrement_over_raw_sql: ratio(cost.decrement.map((d) => d.our_decrement_p50_ms), cost.decrement.map((d) => d.raw_sql_p50_ms)),
  };
}
