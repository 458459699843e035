/**
 * `npm run bench:memory [-- --load 50] [--env KEY=VALUE …] [--label text] [--out file] [--checkout dir]`: the
 * resident memory of an idle `npm start` stack, per process and per part (npm, launcher = API +
 * worker, PostgreSQL, Temporal, assignment service, esbuild, other), as RSS and PSS (Linux /proc).
 * RSS summed over PostgreSQL's processes counts its shared buffers once per process; PSS divides
 * shared pages among the processes that map them, so the PSS sum is what the stack really holds.
 *
 * It starts `npm start` in a temporary DATA_DIR on its own ports, waits for the banner, a minute
 * and resident memory steady (see settle), measures; then (unless --load 0) makes N reservations through the API, waits
 * until they are confirmed and quiet again, measures again; stops the stack (SIGTERM, as a
 * supervisor does) and checks that no process of it is left. Results: bench/results/<date>-memory.json.
 * `--checkout` measures `npm start` of another checkout (an earlier commit, for before/after).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { launchScript } from '../dev/stack.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, waitUntil } from '../platform/process.js';
import { signToken } from '../platform/auth.js';
import { descendants, snapshot, totals, uniqueResidentKiB, type Part, type ProcMemory } from '../bench/procfs-memory.js';

const root = fileURLToPath(new URL('../', import.meta.url));
// Ports of its own (2xxxx), so it never meets a developer's `npm start` or the test suite.
const PORTS = { PORT: '28388', ASSIGNMENT_PORT: '28389', WORKER_METRICS_PORT: '28390', PG_PORT: '25443', TEMPORAL_PORT: '27243', TEMPORAL_UI_PORT: '28243' };
const api = `http://127.0.0.1:${PORTS.PORT}`;
const IDLE_AFTER_MS = 60_000;

interface Options {
  load: number;
  quietMs: number;
  env: Record<string, string>;
  label: string | undefined;
  out: string;
  checkout: string;
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      load: { type: 'string', default: '50' },
      'quiet-ms': { type: 'string', default: '10000' },
      env: { type: 'string', multiple: true, default: [] },
      label: { type: 'string' },
      out: { type: 'string' },
      checkout: { type: 'string' },
    },
  });
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const [k, ...v] = pair.split('=');
    if (k) env[k] = v.join('=');
  }
  const date = new Date().toISOString().slice(0, 10);
  return {
    load: Number(values.load),
    quietMs: Number(values['quiet-ms']),
    env,
    label: values.label,
    out: path.resolve(values.out ?? path.join(root, 'bench', 'results', `${date}-memory.json`)),
    checkout: path.resolve(values.checkout ?? root),
  };
}

interface Stack {
  child: ChildProcess;
  output(): string;
  /** ms since the stack last printed anything. */
  silentFor(): number;
}

function startStack(checkout: string, dataDir: string, extraEnv: Record<string, string>): Stack {
  let last = Date.now();
  // Always the embedded servers: they are what is measured.
  const env = { ...PORTS, DATA_DIR: dataDir, ...extraEnv, DATABASE_URL: undefined, TEMPORAL_ADDRESS: undefined };
  const npm = launchScript('start', env, [], { cwd: checkout, echo: () => (last = Date.now()) });
  return { child: npm.child, output: npm.output, silentFor: () => Date.now() - last };
}

/**
 * Idle = nothing printed for quietMs (JSON logs go to stdout), at least a minute since `since` (the
 * banner, or the end of the load), and resident memory steady: V8 frees start-up garbage only some
 * time later (the SDK keeps a preload of the workflow bundle for 10 s; V8's memory reducer runs
 * after that), so the stack's RSS is sampled every 3 s until four samples in a row stay within 1 MiB
 * (at most 2 minutes more).
 */
async function settle(stack: Stack, quietMs: number, since: number): Promise<void> {
  await waitUntil(() => stack.silentFor() >= quietMs && Date.now() - since >= IDLE_AFTER_MS, 120_000, 250);
  const rss = () => totals(snapshot(stack.child.pid!)).total.rssMiB;
  const samples = [rss()];
  await waitUntil(() => {
    samples.push(rss());
    const last = samples.slice(-4);
    return last.length === 4 && Math.max(...last) - Math.min(...last) < 1;
  }, 120_000, 3_000);
}

async function adminToken(dataDir: string): Promise<string> {
  const secret = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
  return signToken(secret, { role: 'admin', sub: 'bench-memory' });
}

/** `count` reservations, 5 at a time, then waits until each has left ACCEPTED/PENDING. */
async function makeLoad(dataDir: string, count: number): Promise<{ created: number; settled: number }> {
  const auth = { authorization: `Bearer ${await adminToken(dataDir)}`, 'content-type': 'application/json' };
  const products = (await (await fetch(`${api}/products`, { headers: auth })).json()) as { items: { id: string; availableStock: number }[] };
  const product = products.items.find((p) => p.availableStock >= count) ?? products.items[0]!;
  const ids: string[] = [];
  const one = async (i: number) => {
    const body = { productId: product.id, quantity: 1, customer: { id: `bench-mem-${i}`, district: '강남구' } };
    const res = await fetch(`${api}/reservations`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    if (res.status === 201) ids.push(((await res.json()) as { id: string }).id);
  };
  for (let i = 0; i < count; i += 5) await Promise.all([...Array(Math.min(5, count - i)).keys()].map((k) => one(i + k)));
  const done = new Set<string>();
  await waitUntil(async () => {
    for (const id of ids.filter((x) => !done.has(x))) {
      const r = (await (await fetch(`${api}/reservations/${id}`, { headers: auth })).json()) as { status: string };
      if (!['PENDING', 'ACCEPTED'].includes(r.status)) done.add(id);
    }
    return done.size === ids.length;
  }, 60_000, 500);
  return { created: ids.length, settled: done.size };
}

/** SIGTERM to npm, as a supervisor sends it; then every process that was part of the stack must be gone. */
async function stopStack(stack: Stack, pids: number[]): Promise<{ stopMs: number; orphans: number[] }> {
  const sent = Date.now();
  const exited = new Promise<void>((r) => (stack.child.exitCode !== null ? r() : stack.child.once('exit', () => r())));
  stack.child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  const stopMs = Date.now() - sent;
  await waitUntil(() => pids.every((p) => !isAlive(p)), 5_000, 100);
  const orphans = pids.filter(isAlive);
  for (const pid of orphans) process.kill(pid, 'SIGKILL');
  return { stopMs, orphans };
}

const toMiB = (kib: number | undefined) => (kib === undefined ? undefined : Math.round((kib / 1024) * 10) / 10);
const pidsOf = (procs: ProcMemory[], part?: Part) => procs.filter((p) => part === undefined || p.part === part).map((p) => p.pid);

/** Totals per part and for the stack: RSS, PSS and the unique resident pages (see uniqueResidentKiB). */
function measured(procs: ProcMemory[]) {
  const t = totals(procs);
  const parts = t.parts.map((p) => ({ ...p, uniqueMiB: toMiB(uniqueResidentKiB(pidsOf(procs, p.part))) }));
  const unique = (list: ProcMemory[]) => toMiB(uniqueResidentKiB(pidsOf(list)));
  const withoutNpm = procs.filter((p) => p.part !== 'npm');
  return {
    parts,
    total: { ...t.total, uniqueMiB: unique(procs) },
    totalWithoutNpm: { ...totals(withoutNpm).total, uniqueMiB: unique(withoutNpm) },
    processes: procs,
  };
}

/** CPU ms each part used between two snapshots (processes gone by the second are not counted). */
function cpuBetween(before: ProcMemory[], after: ProcMemory[]): Partial<Record<Part, number>> {
  const start = new Map(before.map((p) => [p.pid, p.cpuMs]));
  const out: Partial<Record<Part, number>> = {};
  for (const p of after) out[p.part] = (out[p.part] ?? 0) + p.cpuMs - (start.get(p.pid) ?? 0);
  return out;
}

function printTable(title: string, m: ReturnType<typeof measured>, cpu?: Partial<Record<Part, number>>): void {
  const num = (v: number | undefined, w = 8) => (v === undefined ? '-' : v.toFixed(1)).padStart(w);
  const row = (name: string, procs: string, r: { rssMiB: number; pssMiB: number; uniqueMiB?: number | undefined }, c?: number) =>
    `  ${name.padEnd(11)} ${procs.padStart(3)}  ${num(r.rssMiB)}  ${num(r.pssMiB)}  ${num(r.uniqueMiB, 9)}${cpu && c !== undefined ? `  ${String(c).padStart(7)}` : ''}`;
  process.stdout.write(
    [
      `\n${title}`,
      `  part        procs   RSS MiB   PSS MiB  uniq. MiB${cpu ? '  CPU ms' : ''}`,
      ...m.parts.map((p) => row(p.part, String(p.processes), p, cpu?.[p.part])),
      row('total', String(m.processes.length), m.total, cpu ? Object.values(cpu).reduce((a, b) => a + b, 0) : undefined),
      row('(w/o npm)', '', m.totalWithoutNpm, undefined),
      '',
    ].join('\n'),
  );
}

function gitState(checkout: string): { commit: string; dirty: boolean } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: checkout, encoding: 'utf8' }).trim();
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no').length > 0 };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-bench-memory-'));
  const stack = startStack(options.checkout, dataDir, options.env);
  const seen = new Set<number>();
  const remember = () => descendants(stack.child.pid!).forEach((p) => seen.add(p));
  const abort = () => void stopStack(stack, [...seen]).finally(() => process.exit(130));
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const started = Date.now();
    await waitUntil(() => stack.output().includes('Tshop Reserve is running') || stack.child.exitCode !== null, 300_000, 200);
    if (!stack.output().includes('Tshop Reserve is running')) throw new Error(`npm start did not come up:\n${stack.output()}`);
    const startupMs = Date.now() - started;
    await settle(stack, options.quietMs, Date.now());
    remember();
    const idle = snapshot(stack.child.pid!);
    const idleMemory = measured(idle);
    printTable(`idle (${Math.round(startupMs / 1000)} s to the banner)`, idleMemory);
    let loaded: { load: { created: number; settled: number }; cpuMs: Partial<Record<Part, number>>; memory: ReturnType<typeof measured> } | undefined;
    if (options.load > 0) {
      const load = await makeLoad(dataDir, options.load);
      await settle(stack, options.quietMs, Date.now());
      remember();
      const after = snapshot(stack.child.pid!);
      const cpuMs = cpuBetween(idle, after);
      loaded = { load, cpuMs, memory: measured(after) };
      printTable(`after ${load.created} reservations (${load.settled} settled), idle again; CPU used meanwhile`, loaded.memory, cpuMs);
    }
    remember();
    const stop = await stopStack(stack, [...seen]);
    process.stdout.write(`stopped in ${stop.stopMs} ms; ${stop.orphans.length === 0 ? 'no process left' : `ORPHANS killed: ${stop.orphans.join(', ')}`}\n`);
    const result = {
      kind: 'memory',
      label: options.label,
      at: new Date().toISOString(),
      checkout: options.checkout === root ? undefined : options.checkout,
      git: gitState(options.checkout),
      node: process.version,
      env: options.env,
      startupMs,
      idle: idleMemory,
      afterLoad: loaded,
      stop,
    };
    mkdirSync(path.dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`written to ${path.relative(process.cwd(), options.out)}\n`);
    if (stop.orphans.length > 0) process.exitCode = 1;
  } catch (err) {
    remember();
    await stopStack(stack, [...seen]);
    throw err;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
