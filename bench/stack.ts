/**
 * The stack under test, each part its own process (as in production, and so that each one's CPU and
 * memory can be read from /proc): `start:infra` (embedded PostgreSQL and the Temporal dev server, or
 * whichever of DATABASE_URL / TEMPORAL_ADDRESS is not given), `migrate --seed`, the assignment
 * service, the worker, the notifier and the API. Each is spawned as `node --import tsx <entry>`, not through npm,
 * so that the pid we hold is the process itself. With `temporal: 'server'` the real Temporal server
 * (dev/temporal-server.ts) runs instead of the dev server, on an embedded PostgreSQL of its own, so
 * that Temporal's database is measured apart from the application's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { commandLine, isAlive, terminate, trackChild, waitUntil } from '../platform/process.js';
import { startEmbeddedPostgres } from '../dev/postgres.js';
import { DYNAMIC_CONFIG_SETTING, MAX_MEMBERSHIP_PORT, startTemporalServer, TEMPLATE_SETTINGS } from '../dev/temporal-server.js';
import { TEMPORAL_SERVER_VERSION } from '../dev/temporal-version.js';
import type { Roots } from './procfs.js';

/**
 * The bench's own ports; no test uses them. For the real Temporal server: `temporalPg` its own
 * PostgreSQL, `temporalInternal` the first of 4 ports its services listen on besides the frontend's
 * gRPC port, `temporalMembership` the first of their 4 membership ports.
 */
export const PORTS = {
  api: 18188,
  assignment: 18189,
  workerMetrics: 18190,
  pg: 25462,
  temporal: 17263,
  temporalUi: 18263,
  temporalPg: 25465,
  temporalInternal: 17280,
  temporalMembership: 17284,
};
export type Ports = typeof PORTS;

/**
 * Every port of a stack laid out from `base` (`--port-base`: a machine where the fixed ones are
 * taken): base … base + 17, except that the membership ports of the real Temporal server must stay
 * at most 32,767 (dev/temporal-server.ts): above that they go 30,000 lower.
 */
export function portsFrom(base: number): Ports {
  const membership = base + 14 + 3 <= MAX_MEMBERSHIP_PORT ? base + 14 : base + 14 - 30_000;
  return { api: base, assignment: base + 1, workerMetrics: base + 2, pg: base + 3, temporal: base + 4, temporalUi: base + 5, temporalPg: base + 6, temporalInternal: base + 10, temporalMembership: membership };
}

/** Which Temporal a stack runs: the CLI's dev server (SQLite, one process) or the real server on PostgreSQL. */
export type TemporalKind = 'dev' | 'server';
export const TEMPORAL_KINDS: readonly TemporalKind[] = ['dev', 'server'];

/** What a stack's Temporal was, for the results. */
export interface TemporalDescription {
  kind: TemporalKind;
  /** The real server's version and the template settings and dynamic config it ran with. */
  version?: string;
  settings?: Record<string, string>;
}

export interface Stack {
  baseUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  jwtSecret: string;
  temporal: TemporalDescription;
  /** The process trees to measure; PostgreSQL and Temporal only when the bench started them. */
  roots: Roots;
  stop(): Promise<void>;
}

interface Part {
  name: string;
  child: ChildProcess;
  output(): string;
}

const OUTPUT_KEPT = 64 * 1024;

/** Spawns `node --import tsx <entry>` in its own process group, keeping the tail of its output. */
function spawnPart(root: string, name: string, entry: string, env: NodeJS.ProcessEnv, args: string[] = []): Part {
  // BENCH_CPU_PROF=<dir>: every part writes V8 CPU profiles (one per thread) to <dir>/<part> when it stops
  // (NODE_OPTIONS may not carry --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF, name.replaceAll(':', '-'))}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(root, entry), ...args], {
    cwd: root,
    env,
    // Own group: a terminal's Ctrl-C reaches only the bench, which then stops the parts in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child.pid!);
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-OUTPUT_KEPT));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { name, child, output: () => out };
}

async function waitForLine(part: Part, text: string, timeoutMs: number): Promise<void> {
  const up = await waitUntil(() => part.output().includes(text) || part.child.exitCode !== null, timeoutMs, 100);
  if (!up || !part.output().includes(text)) throw new Error(`${part.name} did not start:\n${part.output()}`);
}

async function stopPart(part: Part): Promise<void> {
  if (part.child.exitCode !== null || part.child.signalCode !== null) return;
  await terminate(part.child.pid!, 'SIGTERM', 20_000);
}

/** The pid recorded in a pid file (first line), if that process is alive and is the one named. */
function pidFromFile(file: string, mustContain: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandLine(pid).includes(mustContain) ? pid : undefined;
}

export interface StackOptions {
  root: string;
  dataDir: string;
  say: (line: string) => void;
  /** Called as soon as there is something to stop, so an interrupt during start-up stops it too. */
  onStoppable: (stop: () => Promise<void>) => void;
  /** Where it listens; PORTS unless given (bench:compare runs two stacks side by side). */
  ports?: Ports;
  /** Added to every part's environment (a configuration under comparison); its data directory, secret, ports and URLs still win. */
  env?: Record<string, string>;
  /**
   * 'server': the real Temporal server, configured by the variables of `env` it knows
   * (dev/temporal-server.ts: NUM_HISTORY_SHARDS, SQL_MAX_CONNS, …, TEMPORAL_SERVER_DYNAMIC_CONFIG).
   * Default 'dev' (or TEMPORAL_ADDRESS's server, when set).
   */
  temporal?: TemporalKind;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { root, dataDir, say, ports = PORTS } = options;
  const parts: Part[] = [];
  const infraPids: number[] = [];
  /** Stopped after everything else, in this order: the real Temporal server, then its PostgreSQL. */
  const lastStops: (() => Promise<void>)[] = [];
  let stopping = false;
  /** Starts a part unless the stack is being stopped (an interrupt during start-up). */
  const start = (...args: Parameters<typeof spawnPart>) => {
    if (stopping) throw new Error('the bench is stopping');
    const part = spawnPart(...args);
    parts.push(part);
    return part;
  };
  const stop = async () => {
    stopping = true;
    // API first (no new work), then worker and assignment service, then the servers they use.
    for (const part of [...parts].reverse()) await stopPart(part).catch(() => undefined);
    // start:infra stops PostgreSQL and Temporal itself; anything still there is killed.
    for (const pid of infraPids) await terminate(pid, 'SIGKILL', 0).catch(() => undefined);
    for (const s of lastStops.splice(0)) await s().catch(() => undefined);
  };
  options.onStoppable(stop);

  const jwtSecret = options.env?.JWT_SECRET ?? process.env.JWT_SECRET ?? randomBytes(32).toString('hex');
  const common = { ...process.env, LOG_LEVEL: 'error', HOLD_PERIOD: '7d', ...options.env, DATA_DIR: dataDir, JWT_SECRET: jwtSecret };

  const server = options.temporal === 'server' ? await startServer(dataDir, ports, options.env ?? {}, say, lastStops, () => stopping) : undefined;

  say(server ? 'starting PostgreSQL (start:infra) …' : 'starting PostgreSQL and Temporal (start:infra) …');
  const infra = start(root, 'start:infra', entryIn(root, 'cmd/infra.ts', 'scripts/start-infra.ts'), {
    ...common,
    ...(server ? { TEMPORAL_ADDRESS: server.address } : {}),
    PG_PORT: String(ports.pg),
    TEMPORAL_PORT: String(ports.temporal),
    TEMPORAL_UI_PORT: String(ports.temporalUi),
  });
  await waitForLine(infra, 'Press Ctrl-C to stop.', 300_000);
  const databaseUrl = /export DATABASE_URL='([^']+)'/.exec(infra.output())![1]!;
  const temporalAddress = /export TEMPORAL_ADDRESS='([^']+)'/.exec(infra.output())![1]!;
  const postgresPid = pidFromFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'postgres');
  const temporalPid = pidFromFile(path.join(dataDir, 'temporal', 'dev-server.pid'), 'start-dev');
  for (const pid of [postgresPid, temporalPid]) {
    if (pid === undefined) continue;
    infraPids.push(pid);
    trackChild(pid); // killed on the way out should the bench die without stopping them
  }

  const services = { ...common, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress };
  const migrate = start(root, 'migrate', entryIn(root, 'cmd/migrate.ts', 'db/main.ts'), services, ['--seed']);
  await new Promise<void>((resolve, reject) =>
    migrate.child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrate failed:\n${migrate.output()}`)))),
  );

  say('starting the assignment service, the worker and the API …');
  const assignmentUrl = `http://127.0.0.1:${ports.assignment}`;
  const assignment = start(root, 'assignment', entryIn(root, 'cmd/assignment.ts', 'api/assignment/main.ts'), { ...services, ASSIGNMENT_PORT: String(ports.assignment) });
  const worker = start(root, 'worker', entryIn(root, 'cmd/worker.ts', 'workers/main.ts'), { ...services, ASSIGNMENT_URL: assignmentUrl, WORKER_METRICS_PORT: String(ports.workerMetrics) });
  await waitForLine(assignment, 'assignment service listening', 60_000);
  await waitForLine(worker, 'worker polling', 120_000);
  // The Python notifier, its launcher (start:notifier) and python both in the measured tree; a
  // checkout from before it (bench:compare --base) has none.
  const notifierEntry = ['cmd/notifier.ts', 'scripts/start-notifier.ts'].find((f) => existsSync(path.join(root, f)));
  const notifier = notifierEntry ? start(root, 'notifier', notifierEntry, services) : undefined;
  if (notifier) await waitForLine(notifier, 'notifier polling task queue', 120_000);
  const api = start(root, 'api', entryIn(root, 'cmd/api.ts', 'api/main.ts'), { ...services, PORT: String(ports.api), API_METRICS_PORT: '0', ASSIGNMENT_URL: assignmentUrl });
  await waitForLine(api, 'API listening', 60_000);

  const roots: Roots = {
    api: api.child.pid!,
    worker: worker.child.pid!,
    assignment: assignment.child.pid!,
    ...(notifier ? { notifier: notifier.child.pid! } : {}),
    ...(temporalPid ? { temporal: temporalPid } : {}),
    ...(server ? { temporal: server.pid, 'temporal postgres': server.postgresPid } : {}),
    ...(postgresPid ? { postgres: postgresPid } : {}),
    // The launcher of PostgreSQL and Temporal: it only waits, but it is a process we run.
    'infra launcher': infra.child.pid!,
    'load generator': process.pid,
  };
  const temporal: TemporalDescription = server ? { kind: 'server', version: TEMPORAL_SERVER_VERSION, settings: server.settings } : { kind: 'dev' };
  return { baseUrl: `http://127.0.0.1:${ports.api}`, databaseUrl, temporalAddress, jwtSecret, temporal, roots, stop };
}

/**
 * Temporal's own PostgreSQL and the real Temporal server on it, each stopped last (server first).
 * The server's settings are the variables of the environment and `env` its template knows; the rest
 * is the application's.
 */
async function startServer(dataDir: string, ports: Ports, env: Record<string, string>, say: (line: string) => void, lastStops: (() => Promise<void>)[], stopping: () => boolean) {
  say(`starting Temporal's PostgreSQL and the Temporal server ${TEMPORAL_SERVER_VERSION} …`);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'temporal-postgres'), port: ports.temporalPg });
  lastStops.push(pg.stop);
  if (stopping()) throw new Error('the bench is stopping');
  const known = [...TEMPLATE_SETTINGS, DYNAMIC_CONFIG_SETTING] as string[];
  // The shell's values too (as every part of the stack gets them), the side's own winning; whatever
  // is used is in the results (`temporal.settings`).
  const settings = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter((e): e is [string, string] => known.includes(e[0]) && e[1] !== undefined));
  const { hostname, port, username, password } = new URL(pg.url);
  const server = await startTemporalServer({
    dataDir,
    port: ports.temporal,
    internalPortBase: ports.temporalInternal,
    membershipPortBase: ports.temporalMembership,
    database: { host: hostname, port: Number(port), user: decodeURIComponent(username), password: decodeURIComponent(password) },
    settings,
    log: say,
  });
  lastStops.unshift(server.stop);
  return { address: server.address, pid: server.pid, postgresPid: pg.pid, settings: server.settings };
}

/** An entry point of the checkout at `root`: where it is today, or where an older commit had it (bench:compare --base). */
export function entryIn(root: string, today: string, before: string): string {
  return existsSync(path.join(root, today)) ? today : before;
}
