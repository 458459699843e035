/** The bench's results: the JSON written to bench/results/, and the Markdown summary printed. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TreeMemory } from './procfs.js';
import type { LatencySummary } from './load.js';
import type { BurstResult, CancelStormResult } from './scenarios/burst.js';
import type { CostResult, costRatios, WorkflowKind } from './scenarios/cost.js';
import type { HistoryShape } from './scenarios/history.js';
import type { LaunchResult } from './scenarios/launch.js';
import type { SeedCheckResult } from './scenarios/seed.js';
import type { CancelAtRateResult, SustainedResult } from './scenarios/sustained.js';
import type { TemporalDescription } from './stack.js';

/** What every run reports. */
interface RunFigures {
  timestamp: string;
  /** The commit measured, and whether the checkout had uncommitted changes. */
  source?: { commit: string; dirty: boolean; subject: string };
  /** Which Temporal the stack ran (absent in files from before it could be chosen: the dev server). */
  temporal?: TemporalDescription;
  quick: boolean;
  duration_s: number;
  phase_seconds: Record<string, number>;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  processes: Record<string, number>;
  peak_memory: { memory: Record<string, TreeMemory>; samples: number; sample_ms: number; pss_every_nth_sample: number };
  launch: LaunchResult[];
  goals: { goal: string; target: string; measured: string; met: boolean }[];
  invariants_ok: boolean;
  violations: string[];
}

/** The phases before the launch days, left out of a `--launch` run. */
export interface PhaseFigures {
  idle: { memory: Record<string, TreeMemory>; commands: Record<string, Record<string, number>>; cpu_ms_per_s: Record<string, number>; quiet_seconds: number };
  cost: Omit<CostResult, 'rawSqlProduct'>;
  ratios: ReturnType<typeof costRatios>;
  history: HistoryShape[];
  seed_check: SeedCheckResult;
  burst: Omit<BurstResult, 'acceptedIds'>;
  cancel_storm: CancelStormResult;
  sustained: SustainedResult;
  cancel_at_rate: CancelAtRateResult;
}

export type Results = RunFigures & Partial<PhaseFigures>;
export type AllPhases = RunFigures & PhaseFigures;

/** Whether the run had the phases before the launch days (not `--launch`). */
export const hasPhases = <T extends Partial<PhaseFigures>>(r: T): r is T & PhaseFigures => r.cost !== undefined;

/** Writes latest.json and the dated copy (the date of the run) under bench/results/. */
export function writeResults(dir: string, results: Results): string[] {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const kind = `${results.temporal?.kind === 'server' ? 'server-' : ''}${results.settings.launch_only ? 'launch-' : ''}${results.quick ? 'quick' : 'full'}`;
  const dated = `${results.timestamp.slice(0, 10)}-${kind}.json`;
  const files = [path.join(dir, 'latest.json'), path.join(dir, dated)];
  for (const f of files) writeFileSync(f, text);
  return files;
}

// Trees in the order the tables show them; the total adds up the system and its load.
/** 'temporal postgres': the real Temporal server's own PostgreSQL (the dev server keeps its SQLite in its own process). */
export const TREE_ORDER = ['api', 'worker', 'notifier', 'temporal', 'temporal postgres', 'postgres', 'assignment', 'load generator', 'infra launcher'];
const KIND_LABEL: Record<WorkflowKind, string> = { ours: 'ours (HTTP reserve)', skeleton: 'skeleton', bare: 'bare' };

const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : (Math.round(x * 10) / 10).toString());
const mib = (kib: number | undefined) => (kib === undefined ? '–' : (kib / 1024).toFixed(0));
const table = (head: string[], rows: (string | number)[][]) => [
  `| ${head.join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];
const lat = (s: LatencySummary) => `${f1(s.p50_ms)} / ${f1(s.p95_ms)} / ${f1(s.p99_ms)} / ${f1(s.max_ms)}`;

/** A line saying which trees were not measured (PostgreSQL or Temporal given from outside), if any. */
function unmeasured(r: AllPhases): string[] {
  const missing = ['temporal', 'postgres'].filter((t) => r.processes[t] === undefined);
  return missing.length === 0
    ? []
    : ['', `Not measured: ${missing.join(' and ')} (given by TEMPORAL_ADDRESS / DATABASE_URL, not started by the bench); the totals leave them out.`];
}

function cpuTable(r: AllPhases): string[] {
  const kinds = Object.keys(r.cost.cpu_ms_per_item) as WorkflowKind[];
  const total = (k: WorkflowKind) => TREE_ORDER.reduce((s, t) => s + (r.cost.cpu_ms_per_item[k]![t] ?? 0), 0);
  // Only the trees this stack has (the dev server has no PostgreSQL of its own).
  const rows = TREE_ORDER.filter((t) => kinds.some((k) => r.cost.cpu_ms_per_item[k]![t] !== undefined)).map((t) => [t, ...kinds.map((k) => f1(r.cost.cpu_ms_per_item[k]![t]))]);
  const tput = kinds.map((k) => f1(r.cost.batches.filter((b) => b.kind === k && b.run > 0).reduce((s, b, _, a) => s + b.throughput_per_s / a.length, 0)));
  return table(['CPU ms per reservation (workflow)', ...kinds.map((k) => KIND_LABEL[k])], [
    ...rows,
    ['**total**', ...kinds.map((k) => `**${f1(total(k))}**`)],
    ['throughput/s (mean of runs)', ...tput],
  ]);
}

function memoryTable(r: AllPhases): string[] {
  const trees = TREE_ORDER.filter((t) => r.idle.memory[t]);
  const system = trees.filter((t) => t !== 'load generator');
  const sum = (k: 'rssKiB' | 'pssKiB') => system.reduce((s, t) => s + (r.idle.memory[t]?.[k] ?? 0), 0);
  const commands = (t: string) => Object.entries(r.idle.commands[t] ?? {}).map(([c, n]) => (n > 1 ? `${c} ×${n}` : c)).join(', ');
  return table(['process (MiB)', 'idle RSS', 'idle PSS', 'peak RSS', 'peak PSS', 'processes (idle)'], [
    ...trees.map((t) => [t, mib(r.idle.memory[t]!.rssKiB), mib(r.idle.memory[t]!.pssKiB), mib(r.peak_memory.memory[t]?.rssKiB), mib(r.peak_memory.memory[t]?.pssKiB), commands(t)]),
    ['**system** (all but the load generator)', `**${mib(sum('rssKiB'))}**`, `**${mib(sum('pssKiB'))}**`, '', '', ''],
  ]);
}

function historyTable(r: AllPhases): string[] {
  return table(['path', 'ends', 'events', 'workflow tasks', 'activities', 'local-activity markers', 'other markers', 'timers', 'SA upserts', 'signals', 'updates'],
    r.history.map((h) => [h.path, h.note ?? h.end_status, h.events, h.workflow_tasks, h.activity_tasks, h.local_activity_markers, h.other_markers, h.timers, h.search_attribute_upserts, h.signals, h.updates]));
}

function burstLines(r: AllPhases): string[] {
  const b = r.burst;
  return [
    `Launch burst: ${b.requests} customers from ${b.clients} clients for ${b.units} units in ${b.seconds} s (${b.throughput_per_s} customers/s, ${b.attempts_per_s} requests/s with the polls): ` +
      `${b.accepted} accepted, ${b.sold_out} sold out, ${b.errors} errors; ${b.queued} placed in line (202), of whom ${b.accepted_from_line} got a unit and ${b.sold_out_from_line} were told SOLD_OUT ` +
      `(${b.polls} polls); ${b.workflows_started} workflows started; every accepted one CONFIRMED ${b.all_confirmed_after_s} s after the first request.` +
      (b.error_examples.length ? ` Errors e.g.: ${b.error_examples.join('; ')}` : ''),
    '',
    ...table(['burst latency (ms)', 'n', 'p50 / p95 / p99 / max'], [
      ['accepted (201)', b.latency.accepted.n, lat(b.latency.accepted)],
      ['answers without a unit (409 + 202)', b.latency.rejections.n, lat(b.latency.rejections)],
      ['  of which 409 OUT_OF_STOCK', b.latency.sold_out.n, lat(b.latency.sold_out)],
      ['  of which 202, a place in line', b.latency.queued.n, lat(b.latency.queued)],
      ['placed in line: first send → the ticket\'s final answer', b.latency.queued_to_final.n, lat(b.latency.queued_to_final)],
      ['polls of the tickets (GET /tickets/{id})', b.latency.polls.n, lat(b.latency.polls)],
      ['per customer (first send → final answer)', b.latency.per_request.n, lat(b.latency.per_request)],
    ]),
  ];
}

function loadLines(r: AllPhases): string[] {
  const s = r.sustained;
  const c = r.cancel_at_rate;
  return [
    ...table(['sustained rate/s', 'requests', 'placed in line', 'errors', 'p50 / p95 / p99 / max ms'], s.steps.map((x) => [x.rate, x.requests, x.queued, x.errors, lat(x)])),
    '',
    `Knee: ${s.knee_per_s}/s (the last rate with p99 ≤ 300 ms and no errors; a request placed in line is timed to its ticket's final answer). At half the knee (${s.half.rate}/s): ${lat(s.half)} ms (p50 / p95 / p99 / max), ${s.half.errors} errors, ${s.half.queued} placed in line; each message settled ${lat(s.notified)} ms after its change.`,
    '',
    ...table(['cancellation (request → RELEASE in the ledger)', 'cancels', 'p50 / p95 / p99 / max ms'], [
      [`at ${c.rate}/s, each shortly after CONFIRMED (${c.cancelled_unconfirmed} not yet confirmed after 5 s; ${c.queued} placed in line first; ${c.errors} errors)`, c.cancels, lat(c.restored)],
      [`storm: half the burst's accepted at once`, r.cancel_storm.cancels, lat(r.cancel_storm.restored)],
    ]),
  ];
}

const n0 = (x: number) => x.toLocaleString('en');
const codes = (answers: Record<string, number>) => Object.entries(answers).map(([k, v]) => `${k} ×${n0(v)}`).join(', ') || 'none';
const latencies = (s: LatencySummary) => `${f1(s.p50_ms)} / ${f1(s.p99_ms)} / ${f1(s.max_ms)}`;

/** The rows of the launch table: one column per launch. */
const LAUNCH_ROWS: [string, (l: LaunchResult) => string][] = [
  ['customers (before the opening)', (l) => `${n0(l.customers)} (${n0(l.early_joiners)})`],
  ['arrivals', (l) => `${l.arrival.rate_per_s}/s: ${l.arrival.early_window_s} s before the opening (+${l.arrival.gap_before_opening_s} s), ${l.arrival.later_window_s} s after`],
  ['units accepted / units', (l) => `${n0(l.accepted)} / ${n0(l.units)}`],
  ['outcomes', (l) => `unit at once ${n0(l.outcomes.unit_at_once)}, from the line ${n0(l.outcomes.unit_from_line)}; told SOLD_OUT ${n0(l.outcomes.told_sold_out)}, refused at once ${n0(l.outcomes.refused_at_once)}, ticket refused ${n0(l.outcomes.refused_tickets)}`],
  ['errors', (l) => `${l.errors}${l.error_examples.length ? ` (e.g. ${l.error_examples.join('; ')})` : ''}`],
  ['workflows: read model / Temporal (ProductId)', (l) => `${n0(l.workflows.read_model)} / ${n0(l.workflows.temporal)}`],
  ['join ms p50 / p99 / max: all', (l) => `${latencies(l.join_latency.all)} (n ${n0(l.join_latency.all.n)})`],
  ['… placed in line (202)', (l) => `${latencies(l.join_latency.placed_in_line)} (n ${n0(l.join_latency.placed_in_line.n)})`],
  ['… unit at once (201)', (l) => `${latencies(l.join_latency.unit_at_once)} (n ${n0(l.join_latency.unit_at_once.n)})`],
  ['… refused at once (409 OUT_OF_STOCK)', (l) => `${latencies(l.join_latency.refused_at_once)} (n ${n0(l.join_latency.refused_at_once.n)})`],
  ['… due before the opening', (l) => `${latencies(l.join_latency.before_opening)} (n ${n0(l.join_latency.before_opening.n)})`],
  ['… due from the opening to sold_out_at', (l) => `${latencies(l.join_latency.until_sold_out)} (n ${n0(l.join_latency.until_sold_out.n)})`],
  ['… due after sold_out_at', (l) => `${latencies(l.join_latency.after_sold_out)} (n ${n0(l.join_latency.after_sold_out.n)})`],
  ['polls (per customer), ms p50 / p99 / max', (l) => `${n0(l.polls.n)} (${l.polls.per_customer}), ${latencies(l.polls.latency)}`],
  ['admitted ahead of an earlier place still waiting', (l) => `${l.order_check.out_of_order} of ${n0(l.order_check.admitted)} admitted`],
  ['draw recomputed: published / stored mismatches', (l) => (l.draw ? `${l.draw.published_order_mismatches} / ${l.draw.stored_position_mismatches} (${n0(l.draw.drawn)} drawn, ${n0(l.draw.early_placed)} early placed)` : '–')],
  ['sha256(seed) = digest; digest as published before the joins', (l) => (l.draw ? `${l.draw.seed_matches_digest ? 'yes' : '**no**'}; ${l.draw.digest_published_before_joins ? 'yes' : '**no**'}` : '–')],
  ['last unit after the opening', (l) => `${l.sold_out.last_unit_after_opening_s} s`],
  ['sale sold_out_at after the last unit', (l) => `${l.sold_out.sale_marked_after_ms} ms`],
  ['waiting customers told SOLD_OUT after the last unit, ms p50 / p99 / max', (l) => `${latencies(l.sold_out.told_after_last_unit)} (n ${n0(l.sold_out.told_after_last_unit.n)}; never told ${l.sold_out.never_told})`],
  ['**CPU per customer without a unit** (system)', (l) => `**${f1(l.cpu.per_customer_without_unit_ms)} ms** (${n0(l.cpu.system_ms)} ms over ${l.cpu.window_s} s)`],
  ['… by process, ms per customer without a unit', (l) => perCustomer(l)],
  ['PostgreSQL over the window: commits, rows written (per customer)', (l) => (l.postgres ? `${n0(l.postgres.commits)} (${l.postgres.per_customer.commits}), ${n0(l.postgres.rows_written)} (${l.postgres.per_customer.rows_written})` : '–')],
  ['… rows written by table', (l) => (l.postgres ? Object.entries(l.postgres.rows_by_table).slice(0, 8).map(([t, n]) => `${t} ${n0(n)}`).join(', ') : '–')],
  ['… before the opening (early joiners joining and polling)', (l) => `${n0(l.cpu.before_opening.system_ms)} ms, ${f1(l.cpu.before_opening.per_early_joiner_ms)} ms per early joiner`],
  ['refusal messages after the window', (l) => `${l.cpu.messages_after.seconds} s, ${n0(l.cpu.messages_after.system_ms)} ms (${f1(l.cpu.messages_after.per_refused_ms)} ms per refusal)`],
  ['one poll by itself, after the launch (CPU ms: system; API, PostgreSQL)', (l) => (l.poll_cost ? `${l.poll_cost.system_per_poll_ms} ms; ${l.poll_cost.per_poll_ms.api ?? 0}, ${l.poll_cost.per_poll_ms.postgres ?? 0} (${n0(l.poll_cost.polls)} polls at ${l.poll_cost.rate_per_s}/s, ${l.poll_cost.errors} errors, p99 ${f1(l.poll_cost.latency.p99_ms ?? undefined)} ms)` : '–')],
  ['duplicates: customers × requests; answers', (l) => `${l.limit.duplicating_customers} × ${l.limit.duplicate_requests / Math.max(1, l.limit.duplicating_customers)}; ${codes(l.limit.duplicate_answers)}; let through ${l.limit.duplicates_let_through}`],
  ['holding more than the limit: customers / phones', (l) => `${l.limit.customers_over_limit} / ${l.limit.phones_over_limit} (limit ${l.limit.unit_limit})`],
  ['estimated waits', (l) => estimateLine(l)],
];

/** Each process's CPU over the window per customer without a unit (the load generator's too, apart). */
function perCustomer(l: LaunchResult): string {
  const without = Math.max(1, l.customers - l.accepted);
  return TREE_ORDER.filter((t) => l.cpu.per_process_ms[t] !== undefined)
    .map((t) => `${t} ${(l.cpu.per_process_ms[t]! / without).toFixed(2)}`)
    .join(', ');
}

function estimateLine(l: LaunchResult): string {
  const { shown, turn_came: came, sold_out_instead: out } = l.estimates;
  const cameText = came.n
    ? `${n0(came.n)} whose turn came: estimated ${came.median_estimated_s} s, waited ${came.median_waited_s} s (medians), |error| ${came.median_error_s} s, ${Math.round(came.within_range * 100)} % within the range shown`
    : 'none whose turn came';
  const outText = out.n ? `${n0(out.n)} told SOLD_OUT instead: estimated ${out.median_estimated_s} s, told after ${out.median_told_after_s} s (medians)` : 'none told SOLD_OUT after one';
  return `shown to ${n0(shown)}: ${cameText}; ${outText}`;
}

function launchLines(r: Results): string[] {
  if (r.launch.length === 0) return [];
  return [
    '### Launch day (customers joining a line, following their tickets)',
    '',
    ...table(['', ...r.launch.map((l) => l.label)], LAUNCH_ROWS.map(([name, cell]) => [name, ...r.launch.map(cell)])),
    '',
    `Stack settings: ${Object.entries(r.settings.stack_env as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(', ')} (the per-customer write limit stays on).`,
    '',
  ];
}

/** The sections of the phases before the launch days. */
function phaseLines(r: AllPhases): string[] {
  const seed = r.seed_check;
  const ratios = r.ratios;
  return [
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
    `### The seed's check (${seed.users} users back to back for ${seed.seconds} s, each request a customer of its own with its own number, \`{"productId": "<id>"}\`)`,
    '',
    `${seed.n} reservations (201), ${seed.errors} errors${seed.error_examples.length ? ` (e.g. ${seed.error_examples.join('; ')})` : ''}: the 201s' mean ${f1(seed.mean_ms)} ms, p50 ${f1(seed.p50_ms)} ms, p99 ${f1(seed.p99_ms)} ms, max ${f1(seed.max_ms)} ms.`,
    '',
    '### Sustained rate and cancellations',
    '',
    ...loadLines(r),
    '',
    `### Ratios (median of ${ratios.throughput_ours_over_bare.runs} interleaved runs, range)`,
    '',
    ...table(['ratio', 'value', 'min', 'max'], Object.entries(ratios).map(([k, v]) => [k.replaceAll('_', ' '), v.value, v.min, v.max])),
    '',
  ];
}

function temporalLine(t: TemporalDescription | undefined): string {
  if (t?.kind !== 'server') return 'the CLI\'s dev server (SQLite, in its own process)';
  const settings = Object.entries(t.settings ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
  return `the Temporal server ${t.version} on a PostgreSQL of its own (its CPU is the "temporal postgres" row)${settings ? `, ${settings}` : ''}`;
}

export function markdown(r: Results): string {
  const kind = r.settings.launch_only ? ' (--launch)' : '';
  return [
    `## Benchmark ${r.timestamp}${r.quick ? ' (--quick)' : ''}${kind}, ${Math.round(r.duration_s)} s`,
    '',
    `Code: ${r.source ? `${r.source.commit.slice(0, 7)}${r.source.dirty ? ' with uncommitted changes' : ' (clean checkout)'}` : 'unknown'}.`,
    '',
    `Temporal: ${temporalLine(r.temporal)}.`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, ${r.machine.platform}, Node ${r.machine.node}. Every process on the same cores.`,
    '',
    `Phases (s): ${Object.entries(r.phase_seconds).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    ...(hasPhases(r) ? phaseLines(r) : []),
    ...launchLines(r),
    '### Goals (reported, not asserted)',
    '',
    ...table(['goal', 'target', 'measured', 'met'], r.goals.map((g) => [g.goal, g.target, g.measured, g.met ? 'yes' : '**no**'])),
    '',
    `Invariants: ${r.invariants_ok ? 'all hold' : `BROKEN (${r.violations.length}): ${r.violations.join('; ')}`}.`,
  ].join('\n');
}
