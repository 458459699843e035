/**
 * `npm run bench:compare -- [--base <git-ref>] [--head <git-ref>] [--base-env K=V]… [--env K=V]… [--label L]
 * [--temporal dev|server|dev,server] [--runs 4] [--cost-n 160] [--scenarios cost,seed,burst,knee,launch] [--requests 2000]
 * [--concurrency 48] [--seed-seconds 10] [--step-seconds 4] [--launch-customers 10000] [--port-base N]`:
 * a lever measured with and without in one run. A ("without") is the code at --base (a temporary
 * worktree), or this checkout, with --base-env; B ("with") is the code at --head, or this checkout,
 * with --env; --temporal says which Temporal each side runs (the CLI's dev server, or the real server
 * on a PostgreSQL of its own, configured by the side's environment). Each runs as
 * its own full stack, both up throughout; the load goes to one at a time, interleaved run after run
 * (absolute times drift on a shared machine, ratios within one run much less). Prints A, B and B/A,
 * writes bench/results/<date>-compare-<label>.json, and exits 1 if either side's invariants break.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readArgs, USAGE, type CompareArgs } from '../bench/compare/args.js';
import { addWorktree, shareTools, thisCheckout, type Checkout } from '../bench/compare/checkout.js';
import { compareBurst, compareCost, compareKnee, compareLaunch, compareSeed, warmUp } from '../bench/compare/measure.js';
import { compareMarkdown, defaultLabel, writeCompareResults, type CompareResults, type SideDescription } from '../bench/compare/report.js';
import { comparePorts, crossRoots, invariantsOf, startVariant, type Side, type Variant, type VariantHooks } from '../bench/compare/variant.js';

const root = fileURLToPath(new URL('../', import.meta.url));
let parsed: CompareArgs;
try {
  parsed = readArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
const { base, head, label, envs, temporal, settings } = parsed;
const ports = comparePorts(parsed.portBase);

const progress = (line: string) => process.stderr.write(`\r\x1b[2K[compare] ${line}`);
const done = (line: string) => process.stderr.write(`\r\x1b[2K[compare] ${line}\n`);

// What to undo on the way out, filled as things start so that an interrupt at any point undoes them:
// this process's connections (after a normal end only), the processes started, then the files made.
const resources: (() => Promise<void> | void)[] = [];
const processes: (() => Promise<void> | void)[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
const settle = (c: () => Promise<void> | void) => Promise.resolve().then(c).catch(() => undefined);
let exiting: Promise<never> | undefined;

/**
 * Stops everything and exits, once (a signal, a failure and the normal end may race). Both stacks
 * stop at the same time; the worktree and data directories go once nothing runs from them.
 */
function exit(code: number, graceful = false): Promise<never> {
  exiting ??= (async () => {
    if (graceful) for (const c of resources.splice(0).reverse()) await settle(c);
    await Promise.all(processes.splice(0).map(settle));
    for (const c of cleanups.splice(0).reverse()) await settle(c);
    process.exit(code);
  })();
  return exiting;
}

const hooks: VariantHooks = {
  progress,
  done,
  onStoppable: (stop) => void processes.push(stop),
  onResource: (close) => void resources.push(close),
  onCleanup: (remove) => void cleanups.push(remove),
};

/** A side's code: a ref in a temporary worktree, or this checkout. */
async function checkoutOf(ref: string | undefined): Promise<Checkout> {
  if (ref === undefined) return thisCheckout(root);
  return addWorktree(root, ref, { say: done, onUndo: (undo) => void cleanups.push(undo) });
}

/**
 * Both sides' stacks, one after the other (start-up, the workers' bundling above all, is heavy on
 * two cores, and one at a time is easier to read when it fails): B first, so that a Temporal CLI it
 * installs into .tools/ is there for A to share. A worktree for B (`--head`, e.g. `--base HEAD
 * --head HEAD` to measure a clean checkout of HEAD on both sides) shares ours from the start.
 */
async function startSides(): Promise<Record<Side, Variant>> {
  const a = await checkoutOf(base);
  const bCheckout = await checkoutOf(head);
  shareTools(root, bCheckout);
  const b = await startVariant({ side: 'B', role: 'with', checkout: bCheckout, env: envs.B, temporal: temporal.B, ports: ports.B }, hooks);
  shareTools(root, a);
  const sides = { A: await startVariant({ side: 'A', role: 'without', checkout: a, env: envs.A, temporal: temporal.A, ports: ports.A }, hooks), B: b };
  crossRoots(sides.A, sides.B);
  for (const s of ['A', 'B'] as const) done(`${s} up: ${Object.entries(sides[s].stack.roots).map(([k, pid]) => `${k} ${pid}`).join(', ')}`);
  return sides;
}

const describeSide = (v: Variant): SideDescription => ({ role: v.role, checkout: v.checkout, env: v.env, temporal: v.stack.temporal, ports: v.ports, processes: v.stack.roots });

async function measure(sides: Record<Side, Variant>) {
  const has = (s: string) => settings.scenarios.includes(s);
  const costOptions = { runs: settings.runs, perBatch: settings.cost_per_batch, concurrency: settings.cost_concurrency };
  await warmUp(sides, costOptions);
  const cost = has('cost') ? await compareCost(sides, costOptions) : undefined;
  const seed = has('seed') ? await compareSeed(sides, settings.seed_check_seconds) : undefined;
  const burst = has('burst') ? await compareBurst(sides, settings.requests, settings.burst_clients) : undefined;
  const knee = has('knee') ? await compareKnee(sides, settings.step_seconds) : undefined;
  const launch = has('launch') ? await compareLaunch(sides, settings.launch_customers) : undefined;
  return { cost, seed, burst, knee, launch };
}

async function invariants(sides: Record<Side, Variant>, burst: CompareResults['burst'], launch: CompareResults['launch']): Promise<Record<Side, string[]>> {
  progress('checking invariants …');
  const out = {} as Record<Side, string[]>;
  for (const s of ['A', 'B'] as const) {
    out[s] = await invariantsOf(sides[s]);
    const b = burst?.[s];
    if (b && b.accepted > b.units) out[s].push(`launch burst accepted ${b.accepted} for ${b.units} units`);
    for (const l of launch?.[s] ?? []) if (l.accepted > l.units) out[s].push(`launch ${l.label} accepted ${l.accepted} for ${l.units} units`);
    done(`${s}: ${out[s].length === 0 ? 'invariants hold' : `INVARIANTS BROKEN:\n  ${out[s].join('\n  ')}`}`);
  }
  return out;
}

async function main(): Promise<boolean> {
  const started = performance.now();
  // Each side starts its own PostgreSQL and Temporal: a DATABASE_URL or TEMPORAL_ADDRESS from the
  // shell would make both sides share one (stack.ts then starts only what is missing).
  delete process.env.DATABASE_URL;
  delete process.env.TEMPORAL_ADDRESS;
  const sides = await startSides();
  const { cost, seed, burst, knee, launch } = await measure(sides);
  const violations = await invariants(sides, burst, launch);
  const described = { A: describeSide(sides.A), B: describeSide(sides.B) };
  const cpus = os.cpus();
  const results: CompareResults = {
    timestamp: new Date().toISOString(),
    label: label ?? defaultLabel(described.A, described.B),
    duration_s: Math.round((performance.now() - started) / 1000),
    machine: { cpus: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', memory_gib: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version },
    settings,
    sides: described,
    ...(cost ? { cost } : {}),
    ...(seed ? { seed_check: seed } : {}),
    ...(burst ? { burst } : {}),
    ...(knee ? { sustained: knee } : {}),
    ...(launch ? { launch } : {}),
    invariants: violations,
    invariants_ok: violations.A.length === 0 && violations.B.length === 0,
  };
  const file = writeCompareResults(path.join(root, 'bench/results'), results);
  process.stdout.write(`${compareMarkdown(results)}\n\nJSON: ${path.relative(root, file)}\n`);
  return results.invariants_ok;
}

// Ctrl-C or SIGTERM stops both stacks (PostgreSQL and Temporal included), removes the worktree, exits.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\n[compare] ${signal}: stopping everything …\n`);
    void exit(130);
  });
}
// Once interrupted, calls still in flight fail against stopped servers: expected, and not reported.
const failed = (err: unknown) => {
  if (interrupted) return;
  process.stderr.write(`\n[compare] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  void exit(1);
};
process.on('uncaughtException', failed);
process.on('unhandledRejection', failed);

main().then((ok) => exit(ok ? 0 : 1, true), failed);
