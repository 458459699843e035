/** A comparison's results: the JSON under bench/results/ and the Markdown tables (A, B, B/A). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LatencySummary } from '../load.js';
import { TREE_ORDER } from '../report.js';
import type { SeedCheckResult } from '../scenarios/seed.js';
import type { LaunchResult } from '../scenarios/launch.js';
import type { SustainedResult } from '../scenarios/sustained.js';
import type { TemporalDescription } from '../stack.js';
import { describe, type Checkout } from './checkout.js';
import type { BurstFigures, CostComparison } from './measure.js';
import type { Side } from './variant.js';

export interface SideDescription {
  role: string;
  checkout: Checkout;
  env: Record<string, string>;
  /** The dev server, or the real server with its version and settings. Absent in files from before it could be chosen: the dev server. */
  temporal?: TemporalDescription;
  ports: Record<string, number>;
  processes: Record<string, number>;
}

export interface CompareResults {
  timestamp: string;
  label: string;
  duration_s: number;
  machine: Record<string, unknown>;
  settings: { runs: number; cost_per_batch: number; cost_concurrency: number; scenarios: string[]; requests: number; burst_clients: number; seed_check_seconds: number; step_seconds?: number; launch_customers?: number };
  sides: Record<Side, SideDescription>;
  cost?: CostComparison;
  seed_check?: Record<Side, SeedCheckResult>;
  burst?: Record<Side, BurstFigures>;
  /** The sustained rate (`knee`): each side's knee and the latencies at half of it. */
  sustained?: Record<Side, SustainedResult>;
  /** Each side's launch days in the order run (A, B, B, A). */
  launch?: Record<Side, LaunchResult[]>;
  invariants: Record<Side, string[]>;
  invariants_ok: boolean;
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);

/** What B has that A has not, as a file-name slug: the refs, then B's settings that differ (or `same`). */
export function defaultLabel(a: SideDescription, b: SideDescription): string {
  const parts: string[] = [];
  const kind = (d: SideDescription) => d.temporal?.kind ?? 'dev';
  if (kind(a) !== kind(b)) parts.push(`temporal-${kind(a)}-to-${kind(b)}`);
  if (a.checkout.commit !== b.checkout.commit || b.checkout.dirty) {
    parts.push(`${a.checkout.ref === 'HEAD' ? a.checkout.commit.slice(0, 7) : a.checkout.ref}-to-${b.checkout.commit.slice(0, 7)}${b.checkout.dirty ? '-dirty' : ''}`);
  }
  for (const key of new Set([...Object.keys(a.env), ...Object.keys(b.env)])) {
    if (a.env[key] === b.env[key]) continue;
    parts.push(b.env[key] === undefined ? `no-${key}` : `${key}-${b.env[key]}`);
  }
  return slug(parts.join('-')) || 'same';
}

export function writeCompareResults(dir: string, r: CompareResults): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${r.timestamp.slice(0, 10)}-compare-${r.label}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}

const table = (head: string[], rows: (string | number)[][]) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : (Math.round(x * 10) / 10).toString());
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const ratio = (b: number | undefined, a: number | undefined) => (a === undefined || b === undefined || !a ? '–' : f2(b / a));
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

function sideLines(r: CompareResults): string[] {
  const env = (e: Record<string, string>) => (Object.keys(e).length ? Object.entries(e).map(([k, v]) => `\`${k}=${v}\``).join(' ') : 'no extra environment');
  const temporal = (t: TemporalDescription | undefined) => (t?.kind === 'server' ? `the Temporal server ${t.version} on its own PostgreSQL` : 'the Temporal dev server');
  return (['A', 'B'] as const).map((s) => `- **${s}** (${r.sides[s].role}): ${describe(r.sides[s].checkout)}; ${temporal(r.sides[s].temporal)}; ${env(r.sides[s].env)}`);
}

function costLines(c: CostComparison, r: CompareResults): string[] {
  const trees = [...TREE_ORDER.filter((t) => c.pooled.A[t] !== undefined || c.pooled.B[t] !== undefined), 'system', 'total'];
  const label = (t: string) => (t === 'system' ? '**system** (all but the load generator)' : t === 'total' ? '**total**' : t);
  const range = (t: string) => (c.ratios[t] && Number.isFinite(c.ratios[t].min) ? `${f2(c.ratios[t].min)}–${f2(c.ratios[t].max)}` : '–');
  const of = (s: Side) => c.batches.filter((b) => b.side === s);
  const perRun = (s: Side, pick: (b: CostComparison['batches'][number]) => number) => mean(of(s).map(pick));
  const other = (s: Side) => perRun(s, (b) => b.other_side_cpu_ms / b.n);
  const rows = [
    ...trees.map((t) => [label(t), f2(c.pooled.A[t]), f2(c.pooled.B[t]), f2(c.ratios[t]?.pooled), range(t)]),
    ...(['throughput_per_s', 'p50_ms', 'p99_ms'] as const).map((k) => [`${k.replace('_per_s', '/s').replace('_ms', ' ms')} (mean of runs)`, f1(perRun('A', (b) => b[k])), f1(perRun('B', (b) => b[k])), ratio(perRun('B', (b) => b[k]), perRun('A', (b) => b[k])), '']),
    ['(the other side\'s stack, idle, during the batch)', f2(other('A')), f2(other('B')), '', ''],
  ];
  return [
    `### CPU ms per reservation (${r.settings.runs} interleaved runs of ${r.settings.cost_per_batch}, ${r.settings.cost_concurrency} concurrent, pooled; until all CONFIRMED)`,
    '',
    ...table(['CPU ms per reservation', 'A', 'B', 'B/A pooled', 'B/A per run (min–max)'], rows),
    '',
    ...runLines(c),
  ];
}

/**
 * Each run's totals in the order they ran, and what going first or second in a run did to the total
 * on average: the alternation cancels it from the pooled figures only over an even number of runs.
 */
function runLines(c: CostComparison): string[] {
  const runs = [...new Set(c.batches.map((b) => b.run))];
  const inRun = (run: number) => c.batches.filter((b) => b.run === run).sort((x, y) => x.position - y.position);
  const at = (p: 1 | 2) => mean(c.batches.filter((b) => b.position === p).map((b) => b.cpu_ms_per_reservation.total!));
  return [
    `Total CPU ms per reservation, per run in the order run: ${runs.map((run) => inRun(run).map((b) => `${b.side} ${f1(b.cpu_ms_per_reservation.total)}`).join(' → ')).join('; ')}.`,
    '',
    `Order: a batch that went first in its run cost ${f1(at(1))} ms in total on average, one that went second ${f1(at(2))} ms` +
      (runs.length % 2 === 1 ? ' (an odd number of runs: A went first once more than B, so the pooled figures carry some of this).' : '.'),
  ];
}

function latencyRows(name: string, a: LatencySummary, b: LatencySummary): (string | number)[][] {
  return (['p50_ms', 'p99_ms', 'mean_ms', 'max_ms'] as const).map((k) => [`${name} ${k.replace('_ms', '')} ms`, f1(a[k]), f1(b[k]), ratio(b[k], a[k])]);
}

function seedLines(s: Record<Side, SeedCheckResult>): string[] {
  return [
    `### The seed's check (${s.A.users} users back to back for ${s.A.seconds} s, each request a customer of its own; A first, then B)`,
    '',
    ...table(['', 'A', 'B', 'B/A'], [['reservations (201)', s.A.n, s.B.n, ratio(s.B.n, s.A.n)], ['errors', s.A.errors, s.B.errors, ''], ...latencyRows('201s', s.A, s.B)]),
  ];
}

function burstLines(b: Record<Side, BurstFigures>): string[] {
  const count = (name: string, pick: (x: BurstFigures) => number) => [name, pick(b.A), pick(b.B), ratio(pick(b.B), pick(b.A))];
  return [
    `### Launch burst (${b.A.requests} customers from ${b.A.clients} clients for ${b.A.units} units, a place in line followed to its end; A first, then B)`,
    '',
    ...table(['', 'A', 'B', 'B/A'], [
      count('accepted (201, or a ticket RESERVED)', (x) => x.accepted),
      count('sold out (409, or a ticket SOLD_OUT)', (x) => x.sold_out),
      // None for a checkout from before the line: it answered 503 STOCK_HELD, repeated after Retry-After.
      count('placed in line (202)', (x) => x.queued),
      count('errors', (x) => x.errors),
      count('workflows started', (x) => x.workflows_started),
      count('customers/s', (x) => x.throughput_per_s),
      count('seconds', (x) => x.seconds),
      count('all accepted CONFIRMED after (s)', (x) => x.all_confirmed_after_s),
      ...latencyRows('accepted', b.A.latency.accepted, b.B.latency.accepted).slice(0, 2),
      ...latencyRows('without a unit (409 + 202)', b.A.latency.rejections, b.B.latency.rejections).slice(0, 2),
      ...latencyRows('placed in line → final answer', b.A.latency.queued_to_final, b.B.latency.queued_to_final).slice(0, 2),
      ...latencyRows('per customer', b.A.latency.per_request, b.B.latency.per_request).slice(0, 2),
    ]),
  ];
}

function kneeLines(k: Record<Side, SustainedResult>, r: CompareResults): string[] {
  const row = (name: string, pick: (x: SustainedResult) => number | undefined) => [name, f1(pick(k.A)), f1(pick(k.B)), ratio(pick(k.B), pick(k.A))];
  return [
    `### Sustained rate (open model, ${r.settings.step_seconds ?? '?'} s per rate, +25 % until p99 > 300 ms or an error; A first, then B)`,
    '',
    ...table(['', 'A', 'B', 'B/A'], [
      row('knee (reservations/s)', (x) => x.knee_per_s),
      row('half the knee (reservations/s)', (x) => x.half.rate),
      row('… p50 ms', (x) => x.half.p50_ms),
      row('… p99 ms', (x) => x.half.p99_ms),
      row('… errors', (x) => x.half.errors),
      row('… message settled after its change, p50 ms', (x) => x.notified?.p50_ms),
      row('… message settled after its change, p99 ms', (x) => x.notified?.p99_ms),
    ]),
  ];
}

function launchLines(l: Record<Side, LaunchResult[]>): string[] {
  const runs = [l.A[0], l.B[0], l.B[1], l.A[1]].filter((r): r is LaunchResult => r !== undefined);
  const names = ['A', 'B', 'B', 'A'].slice(0, runs.length);
  const per = (ms: number | undefined, r: LaunchResult) => f1((ms ?? 0) / Math.max(1, r.customers - r.accepted));
  const row = (name: string, pick: (r: LaunchResult) => string | number | null) => [name, ...runs.map((r) => pick(r) ?? '')];
  return [
    `### Launch day (${runs[0]?.customers.toLocaleString('en')} customers, lottery, ${runs[0]?.units} units; in the order run)`,
    '',
    ...table(['', ...names], [
      row('units accepted / units', (r) => `${r.accepted} / ${r.units}`),
      row('errors', (r) => r.errors),
      row('join p50 ms', (r) => f1(r.join_latency.all.p50_ms)),
      row('join p99 ms', (r) => f1(r.join_latency.all.p99_ms)),
      row('join p99 ms, until sold out', (r) => f1(r.join_latency.until_sold_out.p99_ms)),
      row('join p99 ms, before the opening', (r) => f1(r.join_latency.before_opening.p99_ms)),
      row('CPU ms per customer without a unit (system)', (r) => r.cpu.per_customer_without_unit_ms),
      row('… API', (r) => per(r.cpu.per_process_ms.api, r)),
      row('… PostgreSQL', (r) => per(r.cpu.per_process_ms.postgres, r)),
      row('PostgreSQL commits per customer', (r) => r.postgres.per_customer.commits),
      row('told SOLD_OUT after the last unit, p50 / max ms', (r) => `${r.sold_out.told_after_last_unit.p50_ms} / ${r.sold_out.told_after_last_unit.max_ms}`),
      row('last unit after the opening (s)', (r) => r.sold_out.last_unit_after_opening_s),
      row('admitted out of order', (r) => r.order_check.out_of_order),
    ]),
  ];
}

export function compareMarkdown(r: CompareResults): string {
  const violations = (s: Side) => (r.invariants[s].length ? `BROKEN (${r.invariants[s].length}): ${r.invariants[s].join('; ')}` : 'hold');
  return [
    `## Comparison ${r.label}, ${r.timestamp}, ${r.duration_s} s`,
    '',
    ...sideLines(r),
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpu_model}; both stacks up throughout, the load on one at a time. B/A < 1: B costs less.`,
    '',
    ...(r.cost ? [...costLines(r.cost, r), ''] : []),
    ...(r.seed_check ? [...seedLines(r.seed_check), ''] : []),
    ...(r.burst ? [...burstLines(r.burst), ''] : []),
    ...(r.sustained ? [...kneeLines(r.sustained, r), ''] : []),
    ...(r.launch ? [...launchLines(r.launch), ''] : []),
    `Invariants: A ${violations('A')}; B ${violations('B')}.`,
  ].join('\n');
}
