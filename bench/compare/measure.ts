/**
 * The comparison's measurements. Cost: the bench's batch of ours (bench/scenarios/cost.ts) on each
 * side, interleaved run after run with the order alternating, so that both sides share the machine's
 * mood; pooled per side, each run kept. Seed check, launch burst and sustained rate (the knee): the
 * bench's own scenarios, once per side.
 */
import { spread } from '../load.js';
import { launchBurst, type BurstResult } from '../scenarios/burst.js';
import { measureBatch, WARM_UP, type Batch } from '../scenarios/cost.js';
import { seedCheck, type SeedCheckResult } from '../scenarios/seed.js';
import { sustainedRate, type SustainedResult } from '../scenarios/sustained.js';
import { DEFAULT_RATE_PER_S, launch, warmUp as warmUpLaunch, type LaunchResult } from '../scenarios/launch.js';
import { OTHER, type Side, type Variant } from './variant.js';

interface CompareBatch extends Omit<Batch, 'kind'> {
  side: Side;
  /** First or second in its run (the order alternates from run to run). */
  position: 1 | 2;
  /** CPU ms per reservation of each of the side's own trees. */
  cpu_ms_per_reservation: Record<string, number>;
  /** CPU ms the other side's stack used, idle, during this batch (not in the figures). */
  other_side_cpu_ms: number;
}

export interface CostOptions {
  runs: number;
  perBatch: number;
  concurrency: number;
}

export interface CostComparison {
  batches: CompareBatch[];
  /** Pooled over the runs: CPU ms per reservation for each tree of each side. */
  pooled: Record<Side, Record<string, number>>;
  /** Per tree: B/A of the pooled figures, and the median and range of the per-run ratios. */
  ratios: Record<string, { pooled: number; median: number; min: number; max: number }>;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** A side's batch, its own trees apart from the other side's (see crossRoots). */
async function batchOn(v: Variant, run: number, position: 1 | 2, n: number, concurrency: number): Promise<CompareBatch> {
  const { kind: _kind, cpu_ms, ...rest } = await measureBatch(v.ctx, 'ours', run, n, concurrency);
  const own = Object.entries(cpu_ms).filter(([tree]) => !tree.startsWith(OTHER));
  const other = Object.entries(cpu_ms).filter(([tree]) => tree.startsWith(OTHER));
  return {
    side: v.side,
    position,
    ...rest,
    cpu_ms: Object.fromEntries(own),
    cpu_ms_per_reservation: perReservation(Object.fromEntries(own), n),
    other_side_cpu_ms: other.reduce((s, [, ms]) => s + ms, 0),
  };
}

/**
 * A cost batch on each side, not measured, before any scenario: the first requests compile code
 * paths and fill caches in every process.
 */
export async function warmUp(sides: Record<Side, Variant>, o: CostOptions): Promise<void> {
  for (const v of [sides.A, sides.B]) await batchOn(v, 0, v.side === 'A' ? 1 : 2, Math.min(WARM_UP, o.perBatch), o.concurrency);
}

export async function compareCost(sides: Record<Side, Variant>, o: CostOptions): Promise<CostComparison> {
  const batches: CompareBatch[] = [];
  for (let run = 1; run <= o.runs; run++) {
    const order: Side[] = run % 2 === 1 ? ['A', 'B'] : ['B', 'A'];
    for (const [i, side] of order.entries()) batches.push(await batchOn(sides[side], run, i === 0 ? 1 : 2, o.perBatch, o.concurrency));
    const [a, b] = (['A', 'B'] as const).map((s) => batches.find((x) => x.run === run && x.side === s)!);
    sides.B.ctx.done(`cost run ${run}/${o.runs} (${order.join(' then ')}): total CPU ms per reservation A ${total(a!)}, B ${total(b!)}`);
  }
  const pooled = { A: pool(batches, 'A'), B: pool(batches, 'B') };
  return { batches, pooled, ratios: ratiosOf(batches, pooled) };
}

const total = (b: CompareBatch) => b.cpu_ms_per_reservation.total!;

/**
 * CPU ms of each tree divided by `n`, with two sums: `system` (every tree but the load generator)
 * and `total` (all of them, as `npm run bench` adds them up).
 */
function perReservation(cpuMs: Record<string, number>, n: number): Record<string, number> {
  const all = Object.values(cpuMs).reduce((s, x) => s + x, 0);
  const withSums = { ...cpuMs, system: all - (cpuMs['load generator'] ?? 0), total: all };
  return Object.fromEntries(Object.entries(withSums).map(([tree, ms]) => [tree, r2(ms / n)]));
}

/** CPU ms per reservation of each tree, pooled over a side's runs (ticks are 10 ms: pooling keeps the resolution). */
function pool(batches: CompareBatch[], side: Side): Record<string, number> {
  const mine = batches.filter((b) => b.side === side);
  const ms: Record<string, number> = {};
  for (const b of mine) for (const [tree, x] of Object.entries(b.cpu_ms)) ms[tree] = (ms[tree] ?? 0) + x;
  return perReservation(ms, mine.reduce((s, b) => s + b.n, 0));
}

function ratiosOf(batches: CompareBatch[], pooled: Record<Side, Record<string, number>>): CostComparison['ratios'] {
  const runs = [...new Set(batches.map((b) => b.run))];
  const perRun = (side: Side, tree: string) =>
    runs.map((run) => {
      const b = batches.find((x) => x.run === run && x.side === side)!;
      return b.cpu_ms_per_reservation[tree] ?? NaN;
    });
  const out: CostComparison['ratios'] = {};
  for (const tree of Object.keys(pooled.B)) {
    const a = perRun('A', tree);
    // A run where A's tree used nothing (a tick-sized tree, such as the infra launcher) has no ratio.
    const s = spread(perRun('B', tree).map((x, i) => x / a[i]!).filter(Number.isFinite));
    out[tree] = { pooled: r2(pooled.B[tree]! / pooled.A[tree]!), median: r2(s.median), min: r2(s.min), max: r2(s.max) };
  }
  return out;
}

export type BurstFigures = Omit<BurstResult, 'acceptedIds'>;

/** The seed check on each side in turn (A first). */
export async function compareSeed(sides: Record<Side, Variant>, seconds: number): Promise<Record<Side, SeedCheckResult>> {
  const a = await seedCheck(sides.A.ctx, seconds);
  sides.A.ctx.done(`seed check: ${a.n} reservations, p50 ${a.p50_ms} ms, p99 ${a.p99_ms} ms`);
  const b = await seedCheck(sides.B.ctx, seconds);
  sides.B.ctx.done(`seed check: ${b.n} reservations, p50 ${b.p50_ms} ms, p99 ${b.p99_ms} ms`);
  return { A: a, B: b };
}

/** The launch burst on each side in turn (A first). */
export async function compareBurst(sides: Record<Side, Variant>, requests: number, clients: number): Promise<Record<Side, BurstFigures>> {
  const out = {} as Record<Side, BurstFigures>;
  for (const side of ['A', 'B'] as const) {
    const { acceptedIds: _ids, ...figures } = await launchBurst(sides[side].ctx, requests, clients);
    sides[side].ctx.done(`launch burst: ${figures.accepted} accepted, ${figures.sold_out} sold out, ${figures.queued} placed in line, ${figures.errors} errors in ${figures.seconds} s`);
    out[side] = figures;
  }
  return out;
}

/** The sustained rate on each side in turn (A first): the knee, and the latencies at half of it. */
export async function compareKnee(sides: Record<Side, Variant>, stepSeconds: number): Promise<Record<Side, SustainedResult>> {
  const out = {} as Record<Side, SustainedResult>;
  for (const side of ['A', 'B'] as const) {
    const r = await sustainedRate(sides[side].ctx, stepSeconds);
    sides[side].ctx.done(`sustained rate: knee ${r.knee_per_s}/s; at ${r.half.rate}/s p50 ${r.half.p50_ms} ms, p99 ${r.half.p99_ms} ms`);
    out[side] = r;
  }
  return out;
}

/**
 * The launch day (a lottery of `customers`, the bench's own scenario) on each side twice, A, B, B, A:
 * a launch takes minutes, and the machine's mood drifts over them; each side first runs the unmeasured
 * warm-up launch.
 */
export async function compareLaunch(sides: Record<Side, Variant>, customers: number): Promise<Record<Side, LaunchResult[]>> {
  const out: Record<Side, LaunchResult[]> = { A: [], B: [] };
  for (const side of ['A', 'B'] as const) await warmUpLaunch(sides[side].ctx, DEFAULT_RATE_PER_S);
  for (const side of ['A', 'B', 'B', 'A'] as const) {
    const r = await launch(sides[side].ctx, { order: 'LOTTERY', customers, ratePerSecond: DEFAULT_RATE_PER_S });
    sides[side].ctx.done(`launch ${r.label}: join p99 ${r.join_latency.all.p99_ms} ms, ${r.cpu.per_customer_without_unit_ms} ms CPU per customer without a unit, ${r.errors} errors`);
    out[side].push(r);
  }
  return out;
}

