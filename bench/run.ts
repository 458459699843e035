/**
 * `npm run bench [-- --quick] [-- --runs 3]`: drives the real HTTP API of a real stack (its own
 * embedded one, or DATABASE_URL / TEMPORAL_ADDRESS) from this separate process, measures three
 * scenarios and three baselines side by side, checks the invariants, and reports Markdown on
 * stdout and JSON in bench/results/latest.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { sql } from 'kysely';
import { createStockActivities } from '../activities/stock.js';
import { checkInvariants } from '../db/invariants.js';
import { SEOUL_DISTRICTS } from '../db/data/seoul.js';
import { signToken } from '../shared/auth.js';
import { newReservationId } from '../shared/ids.js';
import { exited, terminate, trackChild, waitUntil } from '../scripts/infra/process.js';
import { openDatabase } from '../scripts/stack.js';
import { skeletonReserve, type bareWorkflow, type skeletonWorkflow } from './workflows.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    requests: { type: 'string' },
  },
});
const QUICK = args.quick!;
const N = Number(args.requests ?? (QUICK ? 2_000 : 10_000));
const C = Number(args.concurrency ?? 48);
const RUNS = Number(args.runs ?? 3);
const BATCH = QUICK ? 150 : 600;
const STEP_MS = QUICK ? 4_000 : 10_000;
const P99_LIMIT_MS = 300;

const progress = (line: string) => process.stderr.write(`\r\x1b[2K[bench] ${line}`);
const done = (line: string) => process.stderr.write(`\r\x1b[2K[bench] ${line}\n`);

// ---------- measuring ----------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
function stats(latencies: number[]) {
  const s = [...latencies].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50_ms: r(percentile(s, 50)), p95_ms: r(percentile(s, 95)), p99_ms: r(percentile(s, 99)) };
}

/** Runs `count` jobs with at most `concurrency` in flight; returns each job's latency and result. */
async function closedLoop<T>(count: number, concurrency: number, job: (i: number) => Promise<T>, label: string) {
  const results: { ms: number; value?: T; error?: unknown }[] = new Array(count);
  let next = 0;
  let finished = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        try {
          results[i] = { ms: performance.now() - t, value: await job(i) };
          results[i]!.ms = performance.now() - t;
        } catch (error) {
          results[i] = { ms: performance.now() - t, error };
        }
        if (++finished % 50 === 0) progress(`${label}: ${finished}/${count}`);
      }
    }),
  );
  return { results, seconds: (performance.now() - started) / 1000 };
}

// ---------- the stack under test ----------

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tshop-bench-'));
const ports = { PORT: '18188', ASSIGNMENT_PORT: '18189', PG_PORT: '55462', TEMPORAL_PORT: '17263', TEMPORAL_UI_PORT: '18263' };
const base = `http://127.0.0.1:${ports.PORT}`;
const databaseUrl = process.env.DATABASE_URL ?? `postgres://tshop:tshop@127.0.0.1:${ports.PG_PORT}/tshop`;
const temporalAddress = process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${ports.TEMPORAL_PORT}`;

async function startStack() {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/start.ts')], {
    cwd: root,
    env: { ...process.env, ...ports, DATA_DIR: dataDir, LOG_LEVEL: 'error', HOLD_PERIOD: '7d' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  trackChild(child.pid!);
  stopOnSignal = async () => {
    await terminate(child.pid!, 'SIGTERM', 15_000);
    await exited(child);
  };
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  progress('starting the stack (npm start) …');
  const up = await waitUntil(() => out.includes('Tshop Reserve is running') || child.exitCode !== null, 180_000, 200);
  if (!up || child.exitCode !== null) throw new Error(`the stack did not start:\n${out}`);
  done('stack is up');
  return {
    async stop() {
      await terminate(child.pid!, 'SIGTERM', 15_000);
      await exited(child);
    },
  };
}

let stack: Awaited<ReturnType<typeof startStack>> | undefined;
// Set as soon as the stack's process exists, so an interrupt during start-up stops it too.
let stopOnSignal: (() => Promise<void>) | undefined;

async function main() {
  stack = await startStack();
  const db = await openDatabase(databaseUrl, { max: 20 });
  const secret = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
  const authorization = `Bearer ${await signToken(secret, { role: 'admin', sub: 'bench' })}`;
  const api = async (method: string, route: string, body?: unknown) => {
    const headers: Record<string, string> = body === undefined ? { authorization } : { authorization, "content-type": "application/json" };
    const res = await fetch(`${base}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const newProduct = async (stock: number) =>
    (await api('POST', '/products', { sku: `bench-${newReservationId().toLowerCase()}`, name: 'Bench phone', brand: 'Bench', priceKrw: 1, stock })).body
      .id as number;
  // Stores sized for the run: the benchmark measures the service, not a full city.
  for (const s of (await api('GET', '/stores')).body.items as { id: string }[]) await api('PATCH', `/stores/${s.id}`, { capacity: 100_000 });
  const reserve = async (productId: number, i: number) => {
    const d = SEOUL_DISTRICTS[i % SEOUL_DISTRICTS.length]!;
    return api('POST', '/reservations', { productId, customer: { id: `bench-${i % 5000}`, district: d.ko } });
  };

  // Baselines: a worker in this process, started by this process's client.
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const baselineQueue = 'bench-baselines';
  const baselineWorker = await Worker.create({
    connection: await (await import('@temporalio/worker')).NativeConnection.connect({ address: temporalAddress }),
    taskQueue: baselineQueue,
    workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
    activities: { noop: async () => undefined },
  });
  const baselineRun = baselineWorker.run();

  const scenarios: Record<string, unknown>[] = [];

  // 1. Launch burst.
  const units = Math.floor(N / 10);
  const burstProduct = await newProduct(units);
  const burst = await closedLoop(N, C, (i) => reserve(burstProduct, i), 'launch burst');
  const accepted = burst.results.filter((r) => r.value?.status === 201).map((r) => r.value!.body.id as string);
  const rejected = burst.results.filter((r) => r.value?.status === 409).length;
  const burstErrors = burst.results.length - accepted.length - rejected;
  const confirmStart = performance.now();
  await waitUntil(async () => {
    const row = await db
      .selectFrom('reservations')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('product_id', '=', burstProduct)
      .where('status', '=', 'CONFIRMED')
      .executeTakeFirstOrThrow();
    progress(`launch burst: ${row.n}/${accepted.length} confirmed`);
    return Number(row.n) >= accepted.length;
  }, 600_000, 250);
  const burstAnsweredAt = burst.seconds;
  scenarios.push({
    name: 'launch burst',
    requests: N,
    accepted: accepted.length,
    rejected,
    errors: burstErrors,
    units,
    throughput_per_s: Math.round(N / burst.seconds),
    ...stats(burst.results.map((r) => r.ms)),
    all_confirmed_after_s: Math.round((burstAnsweredAt + (performance.now() - confirmStart) / 1000) * 10) / 10,
  });
  done(`launch burst: ${accepted.length} accepted, ${rejected} rejected, ${burstErrors} errors in ${burst.seconds.toFixed(1)} s`);

  // 2. Sustained rate: open model, latency from the scheduled send time (no coordinated omission).
  const sustainedProduct = await newProduct(1_000_000);
  const step = async (rate: number) => {
    const count = Math.round((rate * STEP_MS) / 1000);
    const t0 = performance.now() + 50;
    const latencies: number[] = [];
    let errors = 0;
    await Promise.all(
      Array.from({ length: count }, async (_, k) => {
        const scheduled = t0 + (k * 1000) / rate;
        await new Promise((r) => setTimeout(r, Math.max(0, scheduled - performance.now())));
        try {
          const r = await reserve(sustainedProduct, k);
          if (r.status !== 201 && r.status !== 409) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - scheduled);
      }),
    );
    return { rate, count, errors, ...stats(latencies) };
  };
  let knee = 0;
  const steps = [];
  for (let rate = 10; rate <= 640; rate *= 2) {
    progress(`sustained rate: ${rate}/s …`);
    const s = await step(rate);
    steps.push(s);
    if (s.p99_ms > P99_LIMIT_MS || s.errors > 0) break;
    knee = rate;
  }
  const half = await step(Math.max(5, Math.floor(knee / 2)));
  scenarios.push({
    name: 'sustained rate (at half the knee)',
    requests: half.count,
    accepted: null,
    rejected: null,
    errors: half.errors,
    throughput_per_s: half.rate,
    p50_ms: half.p50_ms,
    p95_ms: half.p95_ms,
    p99_ms: half.p99_ms,
    knee_per_s: knee,
    steps,
  });
  done(`sustained rate: knee ${knee}/s (p99 ≤ ${P99_LIMIT_MS} ms, no errors); at ${half.rate}/s p99 ${half.p99_ms} ms`);

  // 3. Cancel storm: half of the accepted, then time from the request to the stock's return.
  const toCancel = accepted.slice(0, Math.floor(accepted.length / 2));
  const requestedAt = new Map<string, number>();
  const storm = await closedLoop(toCancel.length, C, async (i) => {
    requestedAt.set(toCancel[i]!, Date.now());
    return api('POST', `/reservations/${toCancel[i]}/cancel`);
  }, 'cancel storm');
  const refused = storm.results.filter((r) => r.value?.status !== 202);
  if (refused.length > 0) throw new Error(`cancel storm: ${refused.length} cancels refused, e.g. ${JSON.stringify(refused[0]!.value?.body ?? String(refused[0]!.error))}`);
  await waitUntil(async () => {
    const row = await db
      .selectFrom('stock_ledger')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('reservation_id', 'in', toCancel.length ? toCancel : ['-'])
      .where('kind', '=', 'RELEASE')
      .executeTakeFirstOrThrow();
    progress(`cancel storm: ${row.n}/${toCancel.length} restored`);
    return Number(row.n) >= toCancel.length;
  }, 600_000, 250);
  const releases = toCancel.length
    ? await db.selectFrom('stock_ledger').select(['reservation_id', 'created_at']).where('reservation_id', 'in', toCancel).where('kind', '=', 'RELEASE').execute()
    : [];
  const restoreLatencies = releases.map((r) => r.created_at.getTime() - requestedAt.get(r.reservation_id!)!);
  scenarios.push({
    name: 'cancel storm (request → stock restored)',
    requests: toCancel.length,
    accepted: storm.results.filter((r) => r.value?.status === 202).length,
    rejected: null,
    errors: storm.results.filter((r) => r.value?.status !== 202).length,
    throughput_per_s: Math.round(toCancel.length / storm.seconds),
    ...stats(restoreLatencies),
  });
  done(`cancel storm: ${toCancel.length} cancelled`);

  // Baselines, interleaved with ours, run after run, so the ratios share the machine's mood.
  const oursProduct = await newProduct(1_000_000);
  const rawProduct = await newProduct(1_000_000);
  const decrementProduct = await newProduct(1_000_000);
  const stock = createStockActivities({ db });
  const batches: Record<string, { p50: number; tput: number }[]> = { ours: [], skeleton: [], bare: [], ourDecrement: [], rawSql: [] };
  const measure = async (name: string, job: (i: number) => Promise<unknown>) => {
    const r = await closedLoop(BATCH, C, job, `baseline run: ${name}`);
    const failed = r.results.filter((x) => x.error).length;
    if (failed > 0) throw new Error(`${name}: ${failed} of ${BATCH} failed: ${String(r.results.find((x) => x.error)!.error)}`);
    batches[name]!.push({ p50: stats(r.results.map((x) => x.ms)).p50_ms, tput: BATCH / r.seconds });
  };
  for (let run = 1; run <= RUNS; run++) {
    await measure('ours', (i) => reserve(oursProduct, i));
    await measure('skeleton', () =>
      client.workflow.executeUpdateWithStart(skeletonReserve, {
        startWorkflowOperation: new WithStartWorkflowOperation<typeof skeletonWorkflow>('skeletonWorkflow', {
          workflowId: `bench-skeleton-${newReservationId()}`,
          taskQueue: baselineQueue,
          workflowIdConflictPolicy: 'FAIL',
        }),
      }),
    );
    await measure('bare', () => client.workflow.execute<typeof bareWorkflow>('bareWorkflow', { workflowId: `bench-bare-${newReservationId()}`, taskQueue: baselineQueue }));
    await measure('ourDecrement', () =>
      stock.reserveStock({
        reservationId: newReservationId(),
        productId: decrementProduct,
        quantity: 1,
        customerId: 'bench',
        fulfilment: 'PICKUP',
        policy: { assignmentDeadlineMs: 1, holdPeriodMs: 1, reminderBeforeMs: 0 },
      }),
    );
    await measure('rawSql', () =>
      db.transaction().execute(async (trx) => {
        const r = await sql<{ stock: number }>`update products set stock = stock - 1 where id = ${rawProduct} and stock >= 1 returning stock`.execute(trx);
        if (r.rows.length) {
          await sql`insert into stock_ledger (product_id, reservation_id, kind, delta, idempotency_key) values (${rawProduct}, ${newReservationId()}, 'RESERVE', -1, ${`raw:${newReservationId()}${newReservationId()}`})`.execute(trx);
        }
      }),
    );
    done(`baseline run ${run}/${RUNS} done`);
  }
  const ratio = (a: string, b: string) => {
    const each = batches[a]!.map((x, i) => x.p50 / batches[b]![i]!.p50);
    const sorted = [...each].sort((x, y) => x - y);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return { p50_latency_ratio: r2(percentile(sorted, 50)), min: r2(sorted[0]!), max: r2(sorted.at(-1)!), runs: each.length };
  };
  const ratios = {
    ours_over_skeleton: ratio('ours', 'skeleton'),
    skeleton_over_bare: ratio('skeleton', 'bare'),
    our_decrement_over_raw_sql: ratio('ourDecrement', 'rawSql'),
  };

  // Invariants. (The raw-SQL baseline moved stock outside any reservation: its product is left out.)
  progress('checking invariants …');
  const report = await checkInvariants(db);
  const violations = report.violations.filter((v) => !v.startsWith(`product ${rawProduct}:`));
  if (accepted.length > units) violations.push(`launch burst accepted ${accepted.length} of ${units} units`);
  const invariantsOk = violations.length === 0;
  done(invariantsOk ? 'invariants hold' : `INVARIANTS BROKEN:\n  ${violations.join('\n  ')}`);

  const cpus = os.cpus();
  const results = {
    timestamp: new Date().toISOString(),
    quick: QUICK,
    machine: { cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', memory_gib: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    settings: { requests: N, concurrency: C, baseline_batch: BATCH, runs: RUNS, step_seconds: STEP_MS / 1000, p99_limit_ms: P99_LIMIT_MS },
    scenarios,
    baselines: Object.fromEntries(Object.entries(batches).map(([k, v]) => [k, v.map((x) => ({ p50_ms: x.p50, throughput_per_s: Math.round(x.tput) }))])),
    ratios,
    invariants_ok: invariantsOk,
    violations,
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);

  const row = (s: Record<string, unknown>) =>
    `| ${s.name} | ${s.requests} | ${s.accepted ?? '–'} | ${s.rejected ?? '–'} | ${s.errors} | ${s.throughput_per_s} | ${s.p50_ms} | ${s.p95_ms} | ${s.p99_ms} |`;
  const lines = [
    `## Benchmark ${results.timestamp}${QUICK ? ' (--quick)' : ''}`,
    '',
    `Machine: ${results.machine.cpus} × ${results.machine.cpu_model}, ${results.machine.memory_gib} GiB, ${results.machine.platform}, Node ${results.machine.node}. Concurrency ${C}.`,
    '',
    '| scenario | requests | accepted | rejected | errors | throughput/s | p50 ms | p95 ms | p99 ms |',
    '|---|---|---|---|---|---|---|---|---|',
    ...scenarios.map(row),
    '',
    `Launch burst: every accepted reservation CONFIRMED ${(scenarios[0] as { all_confirmed_after_s: number }).all_confirmed_after_s} s after the first request. Sustained-rate knee: ${knee}/s.`,
    '',
    `| ratio (p50 latency, median of ${RUNS} interleaved runs) | value | min | max |`,
    '|---|---|---|---|',
    ...Object.entries(ratios).map(([k, v]) => `| ${k.replaceAll('_', ' ')} | ${v.p50_latency_ratio} | ${v.min} | ${v.max} |`),
    '',
    `Invariants: ${invariantsOk ? 'all hold' : `BROKEN (${violations.length})`}. JSON: bench/results/latest.json`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  baselineWorker.shutdown();
  await baselineRun;
  await connection.close();
  await db.destroy();
  await stack.stop();
  stack = undefined;
  return invariantsOk;
}

// Ctrl-C or a SIGTERM stops the stack it started (PostgreSQL and Temporal included), then exits.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n[bench] ${signal}: stopping the stack …\n`);
    void (stopOnSignal?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

main()
  .then((ok) => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(ok ? 0 : 1);
  })
  .catch(async (err) => {
    process.stderr.write(`\n[bench] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await stack?.stop();
    process.exit(1);
  });
