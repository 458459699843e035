/** The bench's results: the JSON written to bench/results/, and the Markdown summary printed. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TreeMemory } from './procfs.js';
import type { LatencySummary } from './load.js';
import type { BurstResult, CancelStormResult } from './scenarios/burst.js';
import type { CostResult, costRatios, WorkflowKind } from './scenarios/cost.js';
import type { HistoryShape } from './scenarios/history.js';
import type { SeedCheckResult } from './scenarios/seed.js';
import type { CancelAtRateResult, SustainedResult } from './scenarios/sustained.js';

export interface Results {
  timestamp: string;
  quick: boolean;
  duration_s: number;
  phase_seconds: Record<string, number>;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  processes: Record<string, number>;
  idle: { memory: Record<string, TreeMemory>; commands: Record<string, Record<string, number>>; cpu_ms_per_s: Record<string, number>; quiet_seconds: number };
  peak_memory: { memory: Record<string, TreeMemory>; samples: number; sample_ms: number; pss_every_nth_sample: number };
  cost: Omit<CostResult, 'rawSqlProduct'>;
  ratios: ReturnType<typeof costRatios>;
  history: HistoryShape[];
  seed_check: SeedCheckResult;
  burst: Omit<BurstResult, 'acceptedIds'>;
  cancel_storm: CancelStormResult;
  sustained: SustainedResult;
  cancel_at_rate: CancelAtRateResult;
  goals: { goal: string; target: string; measured: string; met: boolean }[];
  invariants_ok: boolean;
  violations: string[];
}

/** Writes latest.json and the dated copy (the date of the run) under bench/results/. */
export function writeResults(dir: string, results: Results): string[] {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const dated = `${results.timestamp.slice(0, 10)}-${results.quick ? 'quick' : 'full'}.json`;
  const files = [path.join(dir, 'latest.json'), path.join(dir, dated)];
  for (const f of files) writeFileSync(f, text);
  return files;
}

// Trees in the order the tables show them; the total adds up the system and its load.
export const TREE_ORDER = ['api', 'worker', 'notifier', 'temporal', 'postgres', 'assignment', 'load generator', 'infra launcher'];
const KIND_LABEL: Record<WorkflowKind, string> = { ours: 'ours (HTTP reserve)', skeleton: 'skeleton', bare: 'bare', skeletonBefore: 'old skeleton' };

const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : (Math.round(x * 10) / 10).toString());
const mib = (kib: number | undefined) => (kib === undefined ? '–' : (kib / 1024).toFixed(0));
const table = (head: string[], rows: (string | number)[][]) => [
  `| ${head.join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];
const lat = (s: LatencySummary) => `${f1(s.p50_ms)} / ${f1(s.p95_ms)} / ${f1(s.p99_ms)} / ${f1(s.max_ms)}`;

/** A line saying which trees were not measured (PostgreSQL or Temporal given from outside), if any. */
function unmeasured(r: Results): string[] {
  const missing = ['temporal', 'postgres'].filter((t) => r.processes[t] === undefined);
  return missing.length === 0
    ? []
    : ['', `Not measured: ${missing.join(' and ')} (given by TEMPORAL_ADDRESS / DATABASE_URL, not started by the bench); the totals leave them out.`];
}

function cpuTable(r: Results): string[] {
  const kinds = Object.keys(r.cost.cpu_ms_per_item) as WorkflowKind[];
  const total = (k: WorkflowKind) => TREE_ORDER.reduce((s, t) => s + (r.cost.cpu_ms_per_item[k]![t] ?? 0), 0);
  const rows = TREE_ORDER.map((t) => [t, ...kinds.map((k) => f1(r.cost.cpu_ms_per_item[k]![t]))]);
  const tput = kinds.map((k) => f1(r.cost.batches.filter((b) => b.kind === k && b.run > 0).reduce((s, b, _, a) => s + b.throughput_per_s / a.length, 0)));
  return table(['CPU ms per reservation (workflow)', ...kinds.map((k) => KIND_LABEL[k])], [
    ...rows,
    ['**total**', ...kinds.map((k) => `**${f1(total(k))}**`)],
    ['throughput/s (mean of runs)', ...tput],
  ]);
}

function memoryTable(r: Results): string[] {
  const trees = TREE_ORDER.filter((t) => r.idle.memory[t]);
  const system = trees.filter((t) => t !== 'load generator');
  const sum = (k: 'rssKiB' | 'pssKiB') => system.reduce((s, t) => s + (r.idle.memory[t]?.[k] ?? 0), 0);
  const commands = (t: string) => Object.entries(r.idle.commands[t] ?? {}).map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
  return table(['process (MiB)', 'idle RSS', 'idle PSS', 'peak RSS', 'peak PSS', 'processes (idle)'], [
    ...trees.map((t) => [t, mib(r.idle.memory[t]!.rssKiB), mib(r.idle.memory[t]!.pssKiB), mib(r.peak_memory.memory[t]?.rssKiB), mib(r.peak_memory.memory[t]?.pssKiB), commands(t)]),
    ['**system** (all but the load generator)', `**${mib(sum('rssKiB'))}**`, `**${mib(sum('pssKiB'))}**`, '', '', ''],
  ]);
}

function historyTable(r: Results): string[] {
  return table(['path', 'ends', 'events', 'workflow tasks', 'activities', 'local-activity markers', 'other markers', 'timers', 'SA upserts', 'signals', 'updates'],
    r.history.map((h) => [h.path, h.note ?? h.end_status, h.events, h.workflow_tasks, h.activity_tasks, h.local_activity_markers, h.other_markers, h.timers, h.search_attribute_upserts, h.signals, h.updates]));
}

function burstLines(r: Results): string[] {
  const b = r.burst;
  return [
    `Launch burst: ${b.requests} requests from ${b.clients} clients for ${b.units} units in ${b.seconds} s (${b.throughput_per_s} requests/s, ${b.attempts_per_s} attempts/s): ` +
      `${b.accepted} accepted, ${b.sold_out} sold out (409), ${b.stock_held_answers} STOCK_HELD answers, ${b.errors} errors; ` +
      `${b.workflows_started} workflows started; every accepted one CONFIRMED ${b.all_confirmed_after_s} s after the first request.` +
      (b.error_examples.length ? ` Errors e.g.: ${b.error_examples.join('; ')}` : ''),
    '',
    ...table(['burst latency (ms)', 'n', 'p50 / p95 / p99 / max'], [
      ['accepted (201), per attempt', b.latency.accepted.n, lat(b.latency.accepted)],
      ['rejections (409 + STOCK_HELD), per attempt', b.latency.rejections.n, lat(b.latency.rejections)],
      ['  of which 409 OUT_OF_STOCK', b.latency.sold_out.n, lat(b.latency.sold_out)],
      ['  of which 503 STOCK_HELD', b.latency.stock_held.n, lat(b.latency.stock_held)],
      ['per customer request (first send → final answer)', b.latency.per_request.n, lat(b.latency.per_request)],
    ]),
  ];
}

function loadLines(r: Results): string[] {
  const s = r.sustained;
  const c = r.cancel_at_rate;
  return [
    ...table(['sustained rate/s', 'requests', 'errors', 'p50 / p95 / p99 / max ms'], s.steps.map((x) => [x.rate, x.requests, x.errors, lat(x)])),
    '',
    `Knee: ${s.knee_per_s}/s (the last rate with p99 ≤ 300 ms and no errors). At half the knee (${s.half.rate}/s): ${lat(s.half)} ms (p50 / p95 / p99 / max), ${s.half.errors} errors.`,
    '',
    ...table(['cancellation (request → RELEASE in the ledger)', 'cancels', 'p50 / p95 / p99 / max ms'], [
      [`at ${c.rate}/s, each shortly after CONFIRMED (${c.cancelled_unconfirmed} not yet confirmed after 5 s; ${c.errors} errors)`, c.cancels, lat(c.restored)],
      [`storm: half the burst's accepted at once`, r.cancel_storm.cancels, lat(r.cancel_storm.restored)],
    ]),
  ];
}

export function markdown(r: Results): string {
  const seed = r.seed_check;
  const ratios = r.ratios;
  return [
    `## Benchmark ${r.timestamp}${r.quick ? ' (--quick)' : ''}, ${Math.round(r.duration_s)} s`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, ${r.machine.platform}, Node ${r.machine.node}. Every process on the same cores.`,
    '',
    `Phases (s): ${Object.entries(r.phase_seconds).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    `### CPU per reservation (${r.settings.cost_per_batch} per batch, ${r.settings.cost_concurrency} concurrent, ${r.settings.runs} interleaved runs, pooled; until all CONFIRMED)`,
    '',
    ...cpuTable(r),
    ...unmeasured(r),
    '',
    `Idle CPU (ms per second, over ${r.idle.quiet_seconds} s of quiet): ${TREE_ORDER.filter((t) => r.idle.cpu_ms_per_s[t] !== undefined).map((t) => `${t} ${f1(r.idle.cpu_ms_per_s[t])}`).join(', ')}.`,
    '',
    '### Memory per process',
    '',
    ...memoryTable(r),
    '',
    `Peak: the largest sum per process tree over the whole run: RSS from ${r.peak_memory.samples} samples, one every ${r.peak_memory.sample_ms} ms; PSS (costly to read) every ${r.peak_memory.pss_every_nth_sample}th sample. PSS splits shared pages (PostgreSQL's shared buffers) between the processes that map them, so it adds up; RSS counts them in each.`,
    '',
    '### History per lifecycle path',
    '',
    ...historyTable(r),
    '',
    '### Launch burst',
    '',
    ...burstLines(r),
    '',
    `### The seed's check (${seed.users} users back to back for ${seed.seconds} s, \`{"productId": "<id>"}\`)`,
    '',
    `${seed.n} reservations, ${seed.errors} errors: mean ${f1(seed.mean_ms)} ms, p50 ${f1(seed.p50_ms)} ms, p99 ${f1(seed.p99_ms)} ms, max ${f1(seed.max_ms)} ms.`,
    '',
    '### Sustained rate and cancellations',
    '',
    ...loadLines(r),
    '',
    `### Ratios (median of ${ratios.throughput_ours_over_bare.runs} interleaved runs, range)`,
    '',
    ...table(['ratio', 'value', 'min', 'max'], Object.entries(ratios).map(([k, v]) => [k.replaceAll('_', ' '), v.value, v.min, v.max])),
    '',
    '### Goals (reported, not asserted)',
    '',
    ...table(['goal', 'target', 'measured', 'met'], r.goals.map((g) => [g.goal, g.target, g.measured, g.met ? 'yes' : '**no**'])),
    '',
    `Invariants: ${r.invariants_ok ? 'all hold' : `BROKEN (${r.violations.length}): ${r.violations.join('; ')}`}.`,
  ].join('\n');
}
