/**
 * `npm run bench [-- --quick] [--runs 3] [--requests N] [--concurrency C] [--cost-n M]
 * [--launch] [--launch-customers N] [--launch-rate R] [--temporal dev|server] [--port-base N]`:
 * starts the stack as separate processes (bench/stack.ts, through dev/stack.ts), drives its HTTP API from this process and
 * reports what a reservation costs (CPU per process, memory, history shape) and how the system
 * behaves under load (launch burst, seed check, sustained rate, cancellations, launch day with its
 * line), next to baselines run in this process. `--temporal server` runs the real Temporal server on a
 * PostgreSQL of its own instead of the dev server (the two side by side: `bench:compare --temporal dev,server`). `--launch` runs the launch day alone. Checks the
 * invariants (exit 1 if one breaks), prints Markdown, and writes bench/results/latest.json plus a
 * dated copy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { checkInvariants } from '../db/invariants.js';
import type { Database } from '../db/schema.js';
import { openDatabase } from '../db/open.js';
import type { Ctx } from '../bench/context.js';
import { goals } from '../bench/goals.js';
import { apiFor } from '../bench/http.js';
import { sleep } from '../bench/load.js';
import { startMemorySampler, type MemorySampler } from '../bench/memory-sampler.js';
import { commandsOf, cpuMsBetween, cpuTicks, treeMemory, type Roots } from '../bench/procfs.js';
import { markdown, writeResults, type Results } from '../bench/report.js';
import { cancelStorm, launchBurst, type BurstResult } from '../bench/scenarios/burst.js';
import { costRatios, measureCost } from '../bench/scenarios/cost.js';
import { historyShapes } from '../bench/scenarios/history.js';
import { DEFAULT_RATE_PER_S, earlyJoiners, launch, warmUp, type LaunchOptions, type LaunchResult } from '../bench/scenarios/launch.js';
import { seedCheck } from '../bench/scenarios/seed.js';
import { cancelAtRate, halfOf, sustainedRate } from '../bench/scenarios/sustained.js';
import { portsFrom, PORTS, startBenchStack, TEMPORAL_KINDS, type TemporalKind } from '../bench/stack.js';
import { thisCheckout } from '../bench/compare/checkout.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    'cost-n': { type: 'string' },
    launch: { type: 'boolean', default: false },
    'launch-customers': { type: 'string' },
    'launch-rate': { type: 'string' },
    temporal: { type: 'string', default: 'dev' },
    'port-base': { type: 'string' },
  },
});
if (!(TEMPORAL_KINDS as readonly string[]).includes(args.temporal!)) {
  process.stderr.write(`--temporal ${args.temporal}: one of ${TEMPORAL_KINDS.join(', ')} (both in one run, interleaved: npm run bench:compare -- --temporal dev,server)\n`);
  process.exit(2);
}
const TEMPORAL = args.temporal as TemporalKind;
const portBase = args['port-base'] === undefined ? undefined : Number(args['port-base']);
if (portBase !== undefined && !(Number.isInteger(portBase) && portBase >= 1024 && portBase + 17 <= 65535)) {
  process.stderr.write(`--port-base ${args['port-base']}: expected 1024–65518 (the stack uses base … base + 17)\n`);
  process.exit(2);
}
const QUICK = args.quick!;
const LAUNCH_ONLY = args.launch!;
// The bench's customers all come from 127.0.0.1, and its admin stands for many store staff: the
// per-address and per-staff write limits would measure themselves. The per-customer limit stays on.
const STACK_ENV = { RATE_LIMIT_ADDRESS_WRITES: 'off', RATE_LIMIT_STAFF_WRITES: 'off' };
const launchCustomers = Number(args['launch-customers'] ?? (QUICK ? 10_000 : 100_000));
const launchRate = Number(args['launch-rate'] ?? DEFAULT_RATE_PER_S);
/** Quick: both orders at N. Full: the lottery at N, first-come at a tenth (see bench/README.md). */
const launches: LaunchOptions[] = [
  { order: 'LOTTERY', customers: launchCustomers, ratePerSecond: launchRate },
  { order: 'FIFO', customers: QUICK || args['launch-customers'] ? launchCustomers : Math.round(launchCustomers / 10), ratePerSecond: launchRate },
];
const settings = {
  requests: Number(args.requests ?? (QUICK ? 2_000 : 10_000)),
  burst_clients: Number(args.concurrency ?? 48),
  runs: Number(args.runs ?? (QUICK ? 2 : 3)),
  // Quick: 2 × 160 per kind, pooled to 320 like the full run's batches, to stay within ~3 minutes.
  cost_per_batch: Number(args['cost-n'] ?? (QUICK ? 160 : 320)),
  cost_concurrency: 16,
  decrement_batch: QUICK ? 150 : 600,
  quiet_seconds: 5,
  seed_check_seconds: QUICK ? 10 : 30,
  step_seconds: QUICK ? 4 : 10,
  cancel_at_rate_seconds: QUICK ? 8 : 20,
  launch_only: LAUNCH_ONLY,
  launches: launches.map((l) => ({ order: l.order, customers: l.customers, arrivals_per_s: l.ratePerSecond, early_joiners: earlyJoiners(l.customers) })),
  stack_env: STACK_ENV,
  temporal: TEMPORAL,
};

const SETTLE_MS = 3_000;
const phaseSeconds: Record<string, number> = {};

/** Runs one phase of the bench and records how long it took. */
async function phase<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await run();
  } finally {
    phaseSeconds[name] = Math.round((performance.now() - t) / 100) / 10;
  }
}
const progress = (line: string) => process.stderr.write(`\r\x1b[2K[bench] ${line}`);
const done = (line: string) => process.stderr.write(`\r\x1b[2K[bench] ${line}\n`);

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tshop-bench-'));
// What to stop, newest first, filled as things start so that an interrupt at any point stops them:
// the processes this run started, and (after a normal end only) this process's own connections.
const processes: (() => Promise<void> | void)[] = [];
const resources: (() => Promise<void> | void)[] = [];
const runAll = async (list: (() => Promise<void> | void)[]) => {
  for (const c of list.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
};
let exiting: Promise<never> | undefined;

/**
 * Stops everything and exits, once (a signal, a failure and the normal end may race). After an
 * interrupt or a failure the connections are left to the exit: closing them under calls still in
 * flight would only raise errors.
 */
function exit(code: number, graceful = false): Promise<never> {
  exiting ??= (async () => {
    if (graceful) await runAll(resources);
    await runAll(processes);
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code);
  })();
  return exiting;
}

/** The baselines' worker, in this process: its CPU is the load generator's during the baseline runs. */
async function startBaselineWorker(temporalAddress: string) {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const taskQueue = 'bench-baselines';
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: temporalAddress }),
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../bench/workflows.ts', import.meta.url)),
    activities: { noop: async () => undefined },
  });
  const running = worker.run();
  resources.push(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
  });
  return taskQueue;
}

/** CPU per second and memory of every tree after a few seconds without load. */
async function idle(roots: Roots, seconds: number) {
  progress(`idle: ${seconds} s of quiet …`);
  // What start-up leaves behind (JIT, GC, first polls) settles first.
  await sleep(SETTLE_MS);
  const before = cpuTicks(roots);
  await sleep(seconds * 1000);
  const cpu = cpuMsBetween(before, cpuTicks(roots));
  const memory = treeMemory(roots);
  done('idle memory and CPU measured');
  return { memory, commands: commandsOf(roots), cpu_ms_per_s: Object.fromEntries(Object.entries(cpu).map(([k, ms]) => [k, Math.round((ms / seconds) * 10) / 10])), quiet_seconds: seconds };
}

async function invariants(db: Kysely<Database>, rawSqlProduct: number | undefined, burst: BurstResult | undefined, days: LaunchResult[]) {
  const report = await checkInvariants(db);
  // The raw-SQL baseline moved stock outside any reservation: its product is left out.
  const violations = report.violations.filter((v) => !v.startsWith(`product ${rawSqlProduct}:`));
  if (burst && burst.accepted > burst.units) violations.push(`launch burst accepted ${burst.accepted} for ${burst.units} units`);
  for (const l of days) if (l.accepted > l.units) violations.push(`launch ${l.label} accepted ${l.accepted} for ${l.units} units`);
  return violations;
}

async function setUp() {
  const stack = await startBenchStack({
    root,
    dataDir,
    say: done,
    onStoppable: (stop) => void processes.push(stop),
    env: STACK_ENV,
    temporal: TEMPORAL,
    ports: portBase === undefined ? PORTS : portsFrom(portBase),
  });
  const db = await openDatabase(stack.databaseUrl, { max: 20 });
  resources.push(() => db.destroy());
  const connection = await Connection.connect({ address: stack.temporalAddress });
  resources.push(() => connection.close());
  // A launch-only run has no baselines: their idle worker would only take the load generator's CPU.
  const baselineQueue = LAUNCH_ONLY ? '' : await startBaselineWorker(stack.temporalAddress);
  const sampler: MemorySampler = startMemorySampler();
  processes.push(() => sampler.kill());
  const roots: Roots = { ...stack.roots, 'memory sampler': sampler.pid };
  sampler.watch(roots);
  const api = await apiFor(stack.baseUrl, stack.jwtSecret);
  // Stores sized for the run: the bench measures the service, not a full city.
  for (const s of (await api.admin('GET', '/stores')).body.items as { id: string }[]) await api.admin('PATCH', `/stores/${s.id}`, { capacity: 100_000 });
  const ctx: Ctx = { api, db, client: new Client({ connection }), baselineQueue, roots, quick: QUICK, progress, done };
  return { ctx, sampler, temporal: stack.temporal };
}

/** Every phase but the launch day: cost, memory, history, the seed's check, burst, sustained rate. */
async function otherPhases(ctx: Ctx) {
  const idleFigures = await phase('idle', () => idle(ctx.roots, settings.quiet_seconds));
  const history = await phase('history', () => historyShapes(ctx));
  done(`history shapes: ${history.map((h) => `${h.path} ${h.events}`).join(', ')}`);
  const seed = await phase('seed check', () => seedCheck(ctx, settings.seed_check_seconds));
  done(`seed check: ${seed.n} reservations, p50 ${seed.p50_ms} ms, p99 ${seed.p99_ms} ms`);
  const cost = await phase('cost and baselines', () =>
    measureCost(ctx, {
      runs: settings.runs,
      perBatch: settings.cost_per_batch,
      concurrency: settings.cost_concurrency,
      decrementBatch: settings.decrement_batch,
    }),
  );
  const burst = await phase('launch burst', () => launchBurst(ctx, settings.requests, settings.burst_clients));
  done(`launch burst: ${burst.accepted} accepted, ${burst.sold_out} sold out, ${burst.queued} placed in line, ${burst.errors} errors in ${burst.seconds} s`);
  const storm = await phase('cancel storm', () => cancelStorm(ctx, burst, settings.burst_clients));
  done(`cancel storm: ${storm.cancels} cancelled, stock back p99 ${storm.restored.p99_ms} ms`);
  const sustained = await phase('sustained rate', () => sustainedRate(ctx, settings.step_seconds));
  done(`sustained rate: knee ${sustained.knee_per_s}/s; at ${sustained.half.rate}/s p99 ${sustained.half.p99_ms} ms`);
  const cancels = await phase('cancel at rate', () => cancelAtRate(ctx, halfOf(sustained.knee_per_s), settings.cancel_at_rate_seconds));
  done(`cancel at ${cancels.rate}/s: ${cancels.cancels} cancelled, stock back p99 ${cancels.restored.p99_ms} ms`);
  const { acceptedIds: _ids, ...burstFigures } = burst;
  const { rawSqlProduct, ...costFigures } = cost;
  const figures = { idle: idleFigures, cost: costFigures, ratios: costRatios(cost), history, seed_check: seed, burst: burstFigures, cancel_storm: storm, sustained, cancel_at_rate: cancels };
  return { figures, rawSqlProduct, burst };
}

/** The launch days, one after the other. */
async function launchDays(ctx: Ctx): Promise<LaunchResult[]> {
  if (LAUNCH_ONLY) await phase('launch warm-up', () => warmUp(ctx, launchRate));
  const days: LaunchResult[] = [];
  for (const options of launches) {
    const day = await phase(`launch ${options.order}`, () => launch(ctx, options));
    done(
      `launch ${day.label}: ${day.accepted}/${day.units} units, ${day.errors} errors, join p99 ${day.join_latency.all.p99_ms} ms, ` +
        `${day.cpu.per_customer_without_unit_ms} ms CPU per customer without a unit`,
    );
    days.push(day);
  }
  return days;
}

async function main(): Promise<boolean> {
  const started = performance.now();
  // What is measured is the checkout as the run starts: a commit made meanwhile is not in the stack.
  const source = (({ commit, dirty, subject }) => ({ commit, dirty, subject }))(thisCheckout(root));
  const { ctx, sampler, temporal } = await phase('start', setUp);
  done(`stack up: ${Object.entries(ctx.roots).map(([k, pid]) => `${k} ${pid}`).join(', ')}`);
  const others = LAUNCH_ONLY ? undefined : await otherPhases(ctx);
  const days = await launchDays(ctx);

  progress('checking invariants …');
  const violations = await invariants(ctx.db, others?.rawSqlProduct, others?.burst, days);
  done(violations.length === 0 ? 'invariants hold' : `INVARIANTS BROKEN:\n  ${violations.join('\n  ')}`);
  const peak = await sampler.stop();

  const cpus = os.cpus();
  const partial = {
    timestamp: new Date().toISOString(),
    // What was measured: the commit, and whether the checkout had uncommitted changes.
    source,
    temporal,
    quick: QUICK,
    duration_s: Math.round((performance.now() - started) / 1000),
    phase_seconds: phaseSeconds,
    machine: { cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', memory_gib: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    settings,
    processes: ctx.roots,
    peak_memory: { memory: peak.peak, samples: peak.samples, sample_ms: peak.sampleMs, pss_every_nth_sample: peak.pssEvery },
    ...others?.figures,
    launch: days,
    invariants_ok: violations.length === 0,
    violations,
  };
  const results: Results = { ...partial, goals: goals(partial) };
  const files = writeResults(path.join(root, 'bench/results'), results);
  process.stdout.write(`${markdown(results)}\n\nJSON: ${files.map((f) => path.relative(root, f)).join(', ')}\n`);
  return results.invariants_ok;
}

// Ctrl-C or SIGTERM stops everything this run started (PostgreSQL and Temporal included), then exits.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\n[bench] ${signal}: stopping everything …\n`);
    void exit(130);
  });
}
// Once interrupted, calls still in flight fail against stopped servers: expected, and not reported.
const failed = (err: unknown) => {
  if (interrupted) return;
  process.stderr.write(`\n[bench] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  void exit(1);
};
process.on('uncaughtException', failed);
process.on('unhandledRejection', failed);

main().then((ok) => exit(ok ? 0 : 1, true), failed);
