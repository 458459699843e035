/**
 * The one way to start the system's parts as processes: embedded PostgreSQL, Temporal (the CLI's
 * dev server, or the real server on a PostgreSQL of its own), the migrations, the assignment
 * service, the worker(s), the Python notifier and the API. `npm start` (cmd/start.ts, which runs the
 * worker, the API and the codec endpoint inside its own process), `start:infra`, the bench, the
 * chaos run and the integration tests each choose their ports, data directory and parts here; the
 * processes themselves are spawned by dev/launch.ts, each the same way.
 *
 * A started stack hands out a handle per part (pid, stop with a signal, start again, restart), so
 * the bench can read each part's CPU from /proc and the chaos run can kill and restart any of them.
 * `stop()` stops everything it started, newest first, and waits until each is gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codecUrl } from '../api/codec/server.js';
import { parseConfig, type Config } from '../platform/config.js';
import { StartupError } from '../platform/process.js';
import { launch, type Launched } from './launch.js';
import { installNotifier } from './notifier.js';
import { startEmbeddedPostgres, type RunningPostgres } from './postgres.js';
import { startTemporalDevServer, type RunningTemporal } from './temporal.js';
import { DYNAMIC_CONFIG_SETTING, MAX_MEMBERSHIP_PORT, startTemporalServer, TEMPLATE_SETTINGS } from './temporal-server.js';
import { TEMPORAL_SERVER_VERSION } from './temporal-version.js';

export type { Launched } from './launch.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));

/**
 * What `npm start` sets unless the environment says otherwise: the API on this host only (a
 * development machine is not a server; `HOST=0.0.0.0` opens it, say to try the web app on a phone),
 * and the demo sign-in and the codec endpoint's tokenless access (for the dev server's Web UI, which
 * has no login) on, except with NODE_ENV=production, where both are refused. Either way they answer
 * callers on this host only.
 */
export function devStackEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { HOST: '127.0.0.1', ...(env.NODE_ENV === 'production' ? {} : { DEV_LOGIN: '1', CODEC_TRUST_LOOPBACK: '1' }), ...env };
}

/**
 * Where a stack listens. For the real Temporal server: `temporalPg` its own PostgreSQL,
 * `temporalInternal` the first of 4 ports its services listen on besides the frontend's gRPC port,
 * `temporalMembership` the first of their 4 membership ports.
 */
// A type, not an interface: assignable to Record<string, number> (the bench's results).
export type Ports = {
  api: number;
  assignment: number;
  assignmentMetrics: number;
  workerMetrics: number;
  pg: number;
  temporal: number;
  temporalUi: number;
  temporalPg: number;
  temporalInternal: number;
  temporalMembership: number;
};

/** The defaults of `npm start` (docs/configuration.md). */
export const DEFAULT_PORTS: Ports = { api: 8088, assignment: 8089, assignmentMetrics: 8093, workerMetrics: 8090, pg: 5433, temporal: 7233, temporalUi: 8233, temporalPg: 5434, temporalInternal: 7240, temporalMembership: 7250 };

/**
 * Every port of a stack laid out from `base`: base … base + 17, except that the membership ports of
 * the real Temporal server must stay at most 32,767 (dev/temporal-server.ts): above that they go
 * 30,000 lower.
 */
export function portsFrom(base: number): Ports {
  const membership = base + 14 + 3 <= MAX_MEMBERSHIP_PORT ? base + 14 : base + 14 - 30_000;
  return { api: base, assignment: base + 1, assignmentMetrics: base + 7, workerMetrics: base + 2, pg: base + 3, temporal: base + 4, temporalUi: base + 5, temporalPg: base + 6, temporalInternal: base + 10, temporalMembership: membership };
}

/** Which Temporal a stack runs: the CLI's dev server (SQLite, one process) or the real server on PostgreSQL. */
export type TemporalKind = 'dev' | 'server';
export const TEMPORAL_KINDS: readonly TemporalKind[] = ['dev', 'server'];

/** What a stack's Temporal was, for the bench's results. */
export interface TemporalDescription {
  kind: TemporalKind | 'external';
  /** The real server's version and the template settings and dynamic config it ran with. */
  version?: string;
  settings?: Record<string, string>;
}

/** The parts, in the order a stack starts them (and stops them, reversed). */
export const PARTS = ['postgres', 'temporal', 'migrate', 'assignment', 'worker', 'notifier', 'api'] as const;
export type PartName = (typeof PARTS)[number];
type ProcessPart = Exclude<PartName, 'postgres' | 'temporal'>;
type NodePart = Exclude<ProcessPart, 'notifier'>;

/**
 * Each Node part's entry point and the line it prints once it serves, polls or is done. Older paths
 * follow today's: bench:compare runs the stack of an earlier commit (`--base`).
 */
const NODE_PARTS: Record<NodePart, { entries: string[]; ready: string; what: string; args?: string[] }> = {
  migrate: { entries: ['cmd/migrate.ts', 'db/main.ts'], ready: 'migrations applied', what: 'the migrations', args: ['--seed'] },
  assignment: { entries: ['cmd/assignment.ts', 'api/assignment/main.ts'], ready: 'assignment service listening', what: 'the assignment service' },
  worker: { entries: ['cmd/worker.ts', 'workers/main.ts'], ready: 'worker polling', what: 'the worker' },
  api: { entries: ['cmd/api.ts', 'api/main.ts'], ready: 'API listening', what: 'the API' },
};

/**
 * V8 flags per part. The assignment service is small and lightly loaded: a 1 MiB young generation
 * (V8's default grows to 16 MiB) keeps it ~20 MiB smaller during and after activity and ~4 MiB at
 * idle, at no CPU cost that cmd/bench-memory.ts could see. The same flag as in package.json's
 * start:assignment.
 */
const V8_FLAGS: Partial<Record<NodePart, string[]>> = { assignment: ['--max-semi-space-size=1'] };

/** An entry point of the checkout at `root`: where it is today, or where an older commit had it. */
export function entryIn(root: string, ...candidates: string[]): string {
  return candidates.find((f) => existsSync(path.join(root, f))) ?? candidates[0]!;
}

export interface PartOptions {
  /** The checkout whose code runs (bench:compare's base); this one by default. */
  root?: string;
  /**
   * 'compiled': through cmd/run.mjs, as `npm start` runs its processes (no TypeScript loader kept
   * in memory); 'tsx' (default): `node --import tsx`, which any checkout can run.
   */
  runner?: 'tsx' | 'compiled';
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv;
  /** A process group of its own (see LaunchSpec.group). */
  group?: boolean;
  /** Its lines, as they come. */
  echo?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Its output appended here too. */
  logFile?: string;
  /** How long it may take to be ready (default 120 s). */
  readyTimeoutMs?: number;
}

/** What the notifier said when it began polling. */
export interface NotifierInfo {
  /** `kakao`, or `sink` when no KAKAO_API_URL is set. */
  channel: string;
  identity: string;
}

export interface StartedPart extends Launched {
  /** Set for the notifier once it polls. */
  notifier?: NotifierInfo;
}

/**
 * Starts one part as a process and waits until it is ready: a Node part once it prints its ready
 * line (the migrations: once they exit 0), the notifier once it logs that it polls. A part that
 * ends or times out first is stopped and reported as a StartupError with its own reason.
 */
export async function startPart(part: ProcessPart, o: PartOptions): Promise<StartedPart> {
  const root = o.root ?? projectRoot;
  const timeoutMs = o.readyTimeoutMs ?? 120_000;
  if (part === 'notifier') return startNotifierProcess(root, o, timeoutMs);
  const spec = NODE_PARTS[part];
  const entry = path.join(root, entryIn(root, ...spec.entries));
  // BENCH_CPU_PROF=<dir>: every part writes V8 CPU profiles (one per thread) to <dir>/<part> when it
  // stops (NODE_OPTIONS may not carry --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_CPU_PROF, part)}`] : [];
  const runner = o.runner === 'compiled' ? [path.join(root, 'cmd', 'run.mjs')] : ['--import', 'tsx'];
  const p = launch({
    name: spec.what,
    command: process.execPath,
    args: [...profile, ...(V8_FLAGS[part] ?? []), ...runner, entry, ...(spec.args ?? [])],
    cwd: root,
    env: o.env,
    group: o.group ?? false,
    echo: o.echo,
    logFile: o.logFile,
  });
  if (part === 'migrate') {
    let done: { code: number | null } | undefined;
    void p.exit.then((e) => (done = e));
    await p.waitReady(() => done?.code === 0, timeoutMs);
    return p;
  }
  await p.waitReady(() => p.stdout().includes(spec.ready), timeoutMs);
  return p;
}

/** `python -m notifier` itself, not a launcher of it: a SIGKILL must reach it. */
async function startNotifierProcess(root: string, o: PartOptions, timeoutMs: number): Promise<StartedPart> {
  let info: NotifierInfo | undefined;
  const p: StartedPart = launch({
    name: 'the notifier',
    command: installNotifier(),
    args: ['-m', 'notifier'],
    cwd: root,
    // Killed outright, the launcher cannot stop it: it then stops itself.
    env: { ...o.env, PYTHONPATH: root, PYTHONUNBUFFERED: '1', NOTIFIER_EXIT_WITH_PARENT: '1' },
    group: o.group ?? false,
    logFile: o.logFile,
    echo(line, stream) {
      o.echo?.(line, stream);
      const entry = parseJson(line);
      if (entry?.msg === 'notifier polling') info = { channel: String(entry.channel), identity: String(entry.identity) };
    },
  });
  await p.waitReady(() => info !== undefined, timeoutMs);
  p.notifier = info;
  return p;
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One part of a started stack. */
export interface Part {
  readonly name: string;
  /** Its process while it runs (none for a server the SDK runs, or one outside the stack). */
  pid(): number | undefined;
  running(): boolean;
  /** What it printed (a process the stack reads; '' for PostgreSQL and Temporal, which log to files). */
  output(): string;
  /** `signal` (its usual stop when not given), SIGKILL after the grace period; resolves once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (same ports, same data). */
  start(): Promise<void>;
  /** Stops it with `signal`, leaves it down for `downMs`, starts it again. */
  restart(signal: NodeJS.Signals, downMs: number): Promise<void>;
}

export interface StackOptions {
  dataDir: string;
  /** Parts started now, in stack order (default all but `migrate`); the others on demand (`Stack.start`). */
  parts?: readonly PartName[];
  /** Run the migrations (and the demo seed) as a process before the services: what the bench measures. */
  migrate?: boolean;
  /** Where it listens: DEFAULT_PORTS unless given; 0 for any free port. */
  ports?: Partial<Ports>;
  /** A PostgreSQL of one's own instead of the embedded one. */
  databaseUrl?: string;
  /**
   * 'dev' (default): the CLI's dev server (see `devServer`). 'server': the real Temporal server, configured by the
   * variables of the environment and `env` it knows (dev/temporal-server.ts: NUM_HISTORY_SHARDS, …).
   * `{ address }`: a Temporal running elsewhere.
   */
  temporal?: TemporalKind | { address: string };
  /** The dev server's CLI and settings; by default as TEMPORAL_CLI_PATH, TEMPORAL_SQLITE_PRAGMAS and TEMPORAL_DYNAMIC_CONFIG of `env` say. */
  devServer?: { cliPath?: string; sqlitePragmas?: string[]; dynamicConfig?: string[] };
  /** Where the dev server's Web UI sends sealed payloads to be shown decoded. */
  uiCodecEndpoint?: string;
  /** Added to every part's environment (after this process's own); the stack's wiring (ports, URLs, data directory) wins. */
  env?: Record<string, string | undefined>;
  /** Added to one part's environment after the wiring (say, a worker's task queue). */
  partEnv?: Partial<Record<ProcessPart, Record<string, string>>>;
  root?: string;
  runner?: 'tsx' | 'compiled';
  /** Each process part in a process group of its own (a terminal's Ctrl-C then reaches only the caller). */
  ownGroups?: boolean;
  /** Process parts' lines, as they come (npm start shows them). */
  echo?: (part: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** Each process part's output appended to `<dataDir>/logs/<part>.log` too. */
  logFiles?: boolean;
  /** Progress lines ("starting embedded PostgreSQL on …"). */
  say?: (line: string) => void;
  /** Called at once with `stop`, so that an interrupt during start-up stops what has started. */
  onStoppable?: (stop: () => Promise<void>) => void;
  /** A process part ended without being stopped (a crash): the chaos run reports it and starts it again. */
  onExit?: (part: string, description: string) => void;
}

export interface Stack {
  readonly dataDir: string;
  readonly ports: Ports;
  readonly databaseUrl: string;
  readonly temporalAddress: string;
  /** The dev server's Web UI. */
  readonly temporalUiUrl: string | undefined;
  readonly temporal: TemporalDescription;
  readonly apiUrl: string;
  readonly assignmentUrl: string;
  /** Whether PostgreSQL and Temporal were started here (not given as URLs). */
  readonly embedded: { postgres: boolean; temporal: boolean };
  /** What the notifier said when it began polling (once started). */
  readonly notifier: NotifierInfo | undefined;
  /** A part by name (`temporal postgres` for the real server's own); throws for one that was never started. */
  part(name: string): Part;
  /** Starts a part that is not running (again, for one stopped). */
  start(part: PartName): Promise<void>;
  /** The pid of every running part, by name: the process trees the bench measures. */
  roots(): Record<string, number>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function resolvePorts(given: Partial<Ports> | undefined): Promise<Ports> {
  const ports = { ...DEFAULT_PORTS, ...given };
  for (const key of Object.keys(ports) as (keyof Ports)[]) if (ports[key] === 0) ports[key] = await freePort();
  return ports;
}

/**
 * The stack a configuration describes (npm start, start:infra, the test servers): its data
 * directory and ports, the dev server's settings, and DATABASE_URL / TEMPORAL_ADDRESS for servers
 * of one's own instead of the embedded ones.
 */
export function stackOptionsFrom(config: Config): StackOptions {
  return {
    dataDir: config.dataDir,
    ports: {
      pg: config.embeddedPostgresPort,
      temporal: config.temporal.devServerPort,
      temporalUi: config.temporal.devServerUiPort,
      assignment: config.assignment.port,
      assignmentMetrics: config.assignment.metrics.port ?? config.http.port + 5,
      api: config.http.port,
      workerMetrics: config.workerMetrics.port ?? config.http.port + 2,
    },
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    temporal: config.temporal.address ? { address: config.temporal.address } : 'dev',
    devServer: { cliPath: config.temporal.cliPath, sqlitePragmas: config.temporal.sqlitePragmas, dynamicConfig: config.temporal.devServerDynamicConfig },
    ...(config.temporal.payloadKeys ? { uiCodecEndpoint: codecUrl(config) } : {}),
  };
}

/** Starts `options.parts` in stack order; on a failure, stops what it started and throws. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const ports = await resolvePorts(options.ports);
  const say = options.say ?? (() => undefined);
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  const config = parseConfig({ ...env, DATA_DIR: options.dataDir });
  const temporalKind = options.temporal ?? 'dev';
  const parts = new Map<string, Part>();
  /** Started parts, oldest first: stopped newest first. */
  const order: Part[] = [];
  let stopping = false;
  let databaseUrl = options.databaseUrl ?? '';
  let temporalAddress = typeof temporalKind === 'object' ? temporalKind.address : '';
  let temporalUiUrl: string | undefined;
  let temporal: TemporalDescription = { kind: typeof temporalKind === 'object' ? 'external' : temporalKind };
  let notifier: NotifierInfo | undefined;
  const assignmentUrl = `http://127.0.0.1:${ports.assignment}`;

  const stop = async () => {
    stopping = true;
    for (const part of order.splice(0).reverse()) await part.stop().catch(() => undefined);
  };
  options.onStoppable?.(stop);

  /** Registers a part whose `launchIt` starts it (again) and returns how to stop it and its pid. */
  const add = (name: string, launchIt: () => Promise<{ pid?: number; stop(signal?: NodeJS.Signals): Promise<void>; output?(): string }>): Part => {
    let current: Awaited<ReturnType<typeof launchIt>> | undefined;
    const part: Part = {
      name,
      pid: () => current?.pid,
      running: () => current !== undefined,
      output: () => current?.output?.() ?? '',
      async stop(signal) {
        const c = current;
        current = undefined;
        await c?.stop(signal);
      },
      async start() {
        if (stopping) throw new StartupError('the stack is stopping');
        if (current) return;
        current = await launchIt();
      },
      async restart(signal, downMs) {
        await part.stop(signal);
        await new Promise((r) => setTimeout(r, downMs));
        await part.start();
      },
    };
    parts.set(name, part);
    order.push(part);
    return part;
  };

  /** The wiring of each process part: where the others are. */
  const wiring = (part: ProcessPart): Record<string, string> => {
    const common = { DATA_DIR: options.dataDir, DATABASE_URL: databaseUrl };
    const services = { ...common, TEMPORAL_ADDRESS: temporalAddress, ASSIGNMENT_URL: assignmentUrl };
    if (part === 'migrate') return common;
    // The assignment role's own URL when one is given; without one (development) the service uses DATABASE_URL.
    if (part === 'assignment') return { ...common, ASSIGNMENT_PORT: String(ports.assignment), ASSIGNMENT_METRICS_PORT: String(ports.assignmentMetrics) };
    if (part === 'worker') return { ...services, WORKER_METRICS_PORT: String(ports.workerMetrics) };
    if (part === 'notifier') return services;
    return { ...services, PORT: String(ports.api), API_METRICS_PORT: '0' };
  };

  const processPart = (part: ProcessPart) => {
    return add(part, async () => {
      const p = await startPart(part, {
        root: options.root,
        runner: options.runner,
        env: { ...env, ...wiring(part), ...options.partEnv?.[part] },
        group: options.ownGroups ?? false,
        echo: options.echo && ((line, stream) => options.echo!(part, line, stream)),
        logFile: options.logFiles ? path.join(options.dataDir, 'logs', `${part}.log`) : undefined,
      });
      if (p.notifier) notifier = p.notifier;
      // Done once it is ready: nothing to stop or measure.
      if (part === 'migrate') return { stop: async () => undefined };
      let stopped = false;
      // Only the stack stops a part: any other end is a crash, for the caller to report.
      void p.exit.then(({ code, signal }) => {
        if (stopped) return;
        parts.get(part)!.stop().catch(() => undefined);
        options.onExit?.(part, `exit ${code ?? signal}; last output:\n${p.output().slice(-4_000)}`);
      });
      return {
        pid: p.pid,
        output: p.output,
        stop: (signal: NodeJS.Signals = 'SIGTERM') => {
          stopped = true;
          return p.stop(signal, 8_000);
        },
      };
    });
  };

  const starters: Record<PartName, () => Promise<void>> = {
    async postgres() {
      if (options.databaseUrl) return;
      say(`starting embedded PostgreSQL on 127.0.0.1:${ports.pg} …`);
      let pg: RunningPostgres | undefined;
      await add('postgres', async () => {
        pg = await startEmbeddedPostgres({ dataDir: options.dataDir, port: ports.pg });
        databaseUrl = pg.url;
        return { pid: pg.pid, stop: () => pg!.stop() };
      }).start();
    },
    async temporal() {
      if (typeof temporalKind === 'object') return;
      if (temporalKind === 'server') return startServer();
      say(`starting the Temporal dev server on 127.0.0.1:${ports.temporal} …`);
      await add('temporal', async () => {
        const t: RunningTemporal = await startTemporalDevServer({
          dataDir: options.dataDir,
          port: ports.temporal,
          uiPort: ports.temporalUi,
          cliPath: options.devServer?.cliPath ?? config.temporal.cliPath,
          sqlitePragmas: options.devServer?.sqlitePragmas ?? config.temporal.sqlitePragmas,
          dynamicConfig: options.devServer?.dynamicConfig ?? config.temporal.devServerDynamicConfig,
          ...(options.uiCodecEndpoint ? { uiCodecEndpoint: options.uiCodecEndpoint } : {}),
          log: say,
        });
        temporalAddress = t.address;
        temporalUiUrl = t.uiUrl;
        return { pid: t.pid, stop: () => t.stop() };
      }).start();
    },
    migrate: () => processPart('migrate').start(),
    assignment: () => processPart('assignment').start(),
    worker: () => processPart('worker').start(),
    notifier: () => processPart('notifier').start(),
    api: () => processPart('api').start(),
  };

  /**
   * Temporal's own PostgreSQL and the real Temporal server on it, each stopped last (server first).
   * The server's settings are the variables of the environment and `env` its template knows.
   */
  async function startServer() {
    say(`starting Temporal's PostgreSQL and the Temporal server ${TEMPORAL_SERVER_VERSION} …`);
    let pg: RunningPostgres | undefined;
    await add('temporal postgres', async () => {
      pg = await startEmbeddedPostgres({ dataDir: path.join(options.dataDir, 'temporal-postgres'), port: ports.temporalPg });
      return { pid: pg.pid, stop: () => pg!.stop() };
    }).start();
    const known = [...TEMPLATE_SETTINGS, DYNAMIC_CONFIG_SETTING] as string[];
    const settings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => known.includes(e[0]) && e[1] !== undefined));
    await add('temporal', async () => {
      const { hostname, port, username, password } = new URL(pg!.url);
      const server = await startTemporalServer({
        dataDir: options.dataDir,
        port: ports.temporal,
        internalPortBase: ports.temporalInternal,
        membershipPortBase: ports.temporalMembership,
        database: { host: hostname, port: Number(port), user: decodeURIComponent(username), password: decodeURIComponent(password) },
        settings,
        log: say,
      });
      temporalAddress = server.address;
      temporal = { kind: 'server', version: TEMPORAL_SERVER_VERSION, settings: server.settings };
      return { pid: server.pid, stop: () => server.stop() };
    }).start();
  }

  const startOne = async (part: PartName) => {
    if (stopping) throw new StartupError('the stack is stopping');
    const started = parts.get(part);
    await (started ? started.start() : starters[part]());
  };

  try {
    const wanted = new Set(options.parts ?? PARTS.filter((p) => p !== 'migrate'));
    if (options.migrate) wanted.add('migrate');
    for (const part of PARTS) if (wanted.has(part)) await startOne(part);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    dataDir: options.dataDir,
    ports,
    get databaseUrl() {
      return databaseUrl;
    },
    get temporalAddress() {
      return temporalAddress;
    },
    get temporalUiUrl() {
      return temporalUiUrl;
    },
    get temporal() {
      return temporal;
    },
    apiUrl: `http://127.0.0.1:${ports.api}`,
    assignmentUrl,
    embedded: { postgres: !options.databaseUrl, temporal: typeof temporalKind !== 'object' },
    get notifier() {
      return notifier;
    },
    part(name) {
      const p = parts.get(name);
      if (!p) throw new Error(`no part ${name} in this stack`);
      return p;
    },
    start: startOne,
    roots: () => Object.fromEntries([...parts.values()].flatMap((p) => (p.pid() === undefined ? [] : [[p.name, p.pid()!]]))),
    stop,
  };
}

/**
 * `npm start` or `npm run <script> [-- args]` in a process group of its own, as a terminal runs
 * it: for the tests of the commands themselves and for bench:memory, which measures `npm start`.
 */
export function launchScript(
  script: string,
  env: Record<string, string | undefined>,
  extraArgs: string[] = [],
  o: { cwd?: string; echo?: (line: string, stream: 'stdout' | 'stderr') => void } = {},
): Launched {
  const args = [...(script === 'start' ? ['start'] : ['run', '--silent', script]), ...(extraArgs.length ? ['--', ...extraArgs] : [])];
  // An undefined value removes a variable of this process's environment.
  return launch({ name: `npm ${args.join(' ')}`, command: 'npm', args, cwd: o.cwd, env: { ...process.env, ...env }, group: true, echo: o.echo });
}

/** The pids of the embedded PostgreSQL and Temporal dev server recorded under a data directory. */
export function serverPids(dataDir: string): number[] {
  const read = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : NaN);
  return [read(path.join(dataDir, 'postgres', 'postmaster.pid')), read(path.join(dataDir, 'temporal', 'dev-server.pid'))].filter((pid) => Number.isInteger(pid) && pid > 0);
}
