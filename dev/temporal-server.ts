/**
 * The real Temporal server (not the CLI's dev server), built from its Go module at the pinned
 * version and run on the host: PostgreSQL persistence and PostgreSQL visibility, the schema set up by
 * `temporal-sql-tool`, every service (frontend, history, matching, internal worker) in one process.
 * The bench uses it to measure what the production topology costs (`--temporal server`); compose
 * runs the same version with its services split.
 *
 * The configuration is the server's own embedded template (`config_template_embedded.yaml`, a YAML
 * file starting `# enable-template`, rendered with sprig's `env`), chosen by starting the server with
 * no config flags: the same variables (NUM_HISTORY_SHARDS, SQL_MAX_CONNS, …) configure it here, in
 * Temporal's images and in compose, so a setting measured here carries over as it is.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ensureSearchAttributes } from '../workers/search-attributes.js';
import { assertPortFree, StartupError, waitUntil } from '../platform/process.js';
import { launch } from './launch.js';
import { TEMPORAL_SERVER_MODULE, TEMPORAL_SERVER_VERSION } from './temporal-version.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
const TOOLS = path.join(projectRoot, '.tools', 'temporal-server');
const BIN = path.join(TOOLS, 'bin');
export const SERVER_BINARY = path.join(BIN, 'temporal-server');
export const SQL_TOOL_BINARY = path.join(BIN, 'temporal-sql-tool');
/** What compose mounts as the server's dynamic config: the keys the product needs (Update-with-Start). */
const DEPLOYED_DYNAMIC_CONFIG = path.join(projectRoot, 'deploy', 'temporal', 'dynamicconfig.yaml');

/** The variables of the server's embedded config template that a caller may set (the levers the bench measures). */
export const TEMPLATE_SETTINGS = [
  'NUM_HISTORY_SHARDS',
  'DB',
  'SQL_MAX_CONNS',
  'SQL_MAX_IDLE_CONNS',
  'SQL_MAX_CONN_TIME',
  'SQL_VIS_MAX_CONNS',
  'SQL_VIS_MAX_IDLE_CONNS',
  'SQL_VIS_MAX_CONN_TIME',
] as const;

/** Dynamic config added to the deployed file, `key=value` separated by commas (a lever under measurement). */
export const DYNAMIC_CONFIG_SETTING = 'TEMPORAL_SERVER_DYNAMIC_CONFIG';

/**
 * DYNAMIC_CONFIG_SETTING unless a run sets it (empty: the deployed file alone): what won when measured
 * with and without on this server (docs/performance.md, "On the real Temporal server"). One partition
 * per task queue (the default 4 spread a handful of pollers over partitions, so a new task waited for
 * one on another partition) and the transfer queue read more than 20 times a second: the knee went
 * from 4.1 to 8 reservations/s at the same CPU, as the same keys did for the dev server. A cluster
 * with hundreds of pollers per task queue would want its partitions back.
 */
export const TUNED_DYNAMIC_CONFIG = 'matching.numTaskqueueReadPartitions=1,matching.numTaskqueueWritePartitions=1,history.transferProcessorMaxPollRPS=1000';

/** Whether a binary answers `--version` with the pinned version (an older build in .tools/ is rebuilt). */
function hasPinnedVersion(binary: string): boolean {
  if (!existsSync(binary)) return false;
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.trim().endsWith(` ${TEMPORAL_SERVER_VERSION}`);
}

/**
 * The server and temporal-sql-tool at the pinned version in `.tools/temporal-server/bin`, built with
 * `go install` when missing. The first build takes minutes on two cores; Go's build cache makes a
 * rebuild quick. `go install` checks every module against the checksum database (GOSUMDB), as the
 * machine's Go is configured.
 */
export function ensureTemporalServer(log: (line: string) => void = () => undefined): { server: string; sqlTool: string } {
  if (hasPinnedVersion(SERVER_BINARY) && hasPinnedVersion(SQL_TOOL_BINARY)) return { server: SERVER_BINARY, sqlTool: SQL_TOOL_BINARY };
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    throw new StartupError(`Go is needed to build the Temporal server ${TEMPORAL_SERVER_VERSION} (go install ${TEMPORAL_SERVER_MODULE}/cmd/server); none is on PATH`);
  }
  log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} and temporal-sql-tool from ${TEMPORAL_SERVER_MODULE} into ${path.relative(process.cwd(), BIN) || BIN} (minutes the first time) …`);
  // Built into a folder of its own, then moved: an interrupted build leaves no half-written binary.
  const partial = path.join(TOOLS, `.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    const packages = ['cmd/server', 'cmd/tools/sql'].map((p) => `${TEMPORAL_SERVER_MODULE}/${p}@v${TEMPORAL_SERVER_VERSION}`);
    const r = spawnSync('go', ['install', ...packages], { env: { ...process.env, GOBIN: partial }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new StartupError(`go install of the Temporal server failed:\n${(r.stderr || r.error?.message || '').trim().split('\n').slice(-20).join('\n')}`);
    mkdirSync(BIN, { recursive: true });
    renameSync(path.join(partial, 'server'), SERVER_BINARY);
    renameSync(path.join(partial, 'sql'), SQL_TOOL_BINARY);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  if (!hasPinnedVersion(SERVER_BINARY) || !hasPinnedVersion(SQL_TOOL_BINARY)) throw new StartupError(`the built Temporal server does not report version ${TEMPORAL_SERVER_VERSION}`);
  return { server: SERVER_BINARY, sqlTool: SQL_TOOL_BINARY };
}

/**
 * The module's source at the pinned version (its schema files): `go mod download` finds it in the
 * module cache, or fetches and verifies it if the cache was cleaned since the build.
 */
function moduleDir(): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}`], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  const dir = (JSON.parse(out) as { Dir?: string; Error?: string }).Dir;
  if (!dir) throw new StartupError(`go mod download ${TEMPORAL_SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION} found no source: ${out}`);
  return dir;
}

export interface TemporalDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const TEMPORAL_DB = 'temporal';
export const TEMPORAL_VISIBILITY_DB = 'temporal_visibility';

/**
 * Creates Temporal's two databases and brings them to the pinned version's schema, as
 * deploy/temporal/setup-schema.sh does in compose: `create` (an existing database is kept),
 * `setup-schema -v 0.0` (a set-up one is left alone), `update-schema` with the module's versioned
 * PostgreSQL 12 schema (only the versions still missing).
 */
export function setupTemporalSchema(sqlTool: string, db: TemporalDatabase): void {
  const schema = path.join(moduleDir(), 'schema', 'postgresql', 'v12');
  const run = (database: string, ...args: string[]) => {
    const r = spawnSync(sqlTool, ['--plugin', 'postgres12', '--ep', db.host, '-p', String(db.port), '-u', db.user, '--db', database, ...args], {
      // The password through the environment, not the command line (which any local user can read).
      env: { PATH: process.env.PATH, SQL_PASSWORD: db.password },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new StartupError(`temporal-sql-tool ${args[0]} on ${database} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' ')}`);
  };
  for (const [database, dir] of [[TEMPORAL_DB, 'temporal'], [TEMPORAL_VISIBILITY_DB, 'visibility']] as const) {
    run(database, 'create');
    run(database, 'setup-schema', '-v', '0.0');
    run(database, 'update-schema', '-d', path.join(schema, dir, 'versioned'));
  }
}

/**
 * The deployed dynamic config plus `key=value` extras (values as YAML reads them: numbers, true,
 * false). A key the deployed file already has is refused rather than silently doubled.
 */
export function dynamicConfigYaml(extras: string[]): string {
  const deployed = readFileSync(DEPLOYED_DYNAMIC_CONFIG, 'utf8');
  const lines = extras.map((kv) => {
    const at = kv.indexOf('=');
    if (at <= 0) throw new StartupError(`${DYNAMIC_CONFIG_SETTING}: "${kv}" is not key=value`);
    const [key, value] = [kv.slice(0, at).trim(), kv.slice(at + 1).trim()];
    if (new RegExp(`^${key.replaceAll('.', '\\.')}:`, 'm').test(deployed)) throw new StartupError(`${DYNAMIC_CONFIG_SETTING}: ${key} is already in ${path.relative(projectRoot, DEPLOYED_DYNAMIC_CONFIG)}`);
    return `${key}:\n  - value: ${value}\n    constraints: {}\n`;
  });
  return `${deployed.trimEnd()}\n${lines.length ? `# Added for this run (${DYNAMIC_CONFIG_SETTING}):\n${lines.join('')}` : ''}`;
}

/** PostgreSQL's smallint: where Temporal's schema keeps a service's membership port. */
export const MAX_MEMBERSHIP_PORT = 32_767;

export interface TemporalServerOptions {
  /** Its files (the dynamic config, the log) go to <dataDir>/logs and <dataDir>/temporal-server. */
  dataDir: string;
  /** The frontend's gRPC port (what TEMPORAL_ADDRESS names). */
  port: number;
  /** The first of 4 consecutive ports: the frontend's HTTP API, then history's, matching's and the internal worker's gRPC. */
  internalPortBase: number;
  /**
   * The first of 4 consecutive ports for the services' membership (ringpop): at most 32764, because
   * Temporal's PostgreSQL schema keeps each in a smallint (cluster_membership.rpc_port); a larger one
   * stops the server at start ("value … is out of range for type smallint").
   */
  membershipPortBase: number;
  database: TemporalDatabase;
  /** Values for TEMPLATE_SETTINGS variables (unset: the template's defaults), and DYNAMIC_CONFIG_SETTING (unset: TUNED_DYNAMIC_CONFIG). */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunningTemporalServer {
  address: string;
  pid: number;
  /** What the template rendered with (ports aside): the record of a measured run. */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

/** Builds the server if needed, sets up its schema, starts every service in one process, and creates the `default` namespace with the project's search attributes. */
export async function startTemporalServer(o: TemporalServerOptions): Promise<RunningTemporalServer> {
  const { server, sqlTool } = ensureTemporalServer(o.log);
  if (o.membershipPortBase + 3 > MAX_MEMBERSHIP_PORT) throw new StartupError(`Temporal membership ports must be at most ${MAX_MEMBERSHIP_PORT} (a smallint in its schema); got ${o.membershipPortBase}…${o.membershipPortBase + 3}`);
  const ports = {
    FRONTEND_GRPC_PORT: o.port,
    FRONTEND_HTTP_PORT: o.internalPortBase,
    HISTORY_GRPC_PORT: o.internalPortBase + 1,
    MATCHING_GRPC_PORT: o.internalPortBase + 2,
    WORKER_GRPC_PORT: o.internalPortBase + 3,
    FRONTEND_MEMBERSHIP_PORT: o.membershipPortBase,
    HISTORY_MEMBERSHIP_PORT: o.membershipPortBase + 1,
    MATCHING_MEMBERSHIP_PORT: o.membershipPortBase + 2,
    WORKER_MEMBERSHIP_PORT: o.membershipPortBase + 3,
  };
  for (const [name, port] of Object.entries(ports)) await assertPortFree(port, `Temporal server, ${name}`, '127.0.0.1');
  o.log?.('setting up the Temporal schema (temporal-sql-tool) …');
  setupTemporalSchema(sqlTool, o.database);

  const given = o.settings ?? {};
  const unknown = Object.keys(given).filter((k) => k !== DYNAMIC_CONFIG_SETTING && !(TEMPLATE_SETTINGS as readonly string[]).includes(k));
  if (unknown.length) throw new StartupError(`unknown Temporal server settings: ${unknown.join(', ')} (known: ${TEMPLATE_SETTINGS.join(', ')}, ${DYNAMIC_CONFIG_SETTING})`);
  const settings: Record<string, string> = { DB: 'postgres12', [DYNAMIC_CONFIG_SETTING]: TUNED_DYNAMIC_CONFIG, ...given };
  const dir = path.join(o.dataDir, 'temporal-server');
  mkdirSync(dir, { recursive: true });
  const dynamicConfigFile = path.join(dir, 'dynamicconfig.yaml');
  const extras = (settings[DYNAMIC_CONFIG_SETTING] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  writeFileSync(dynamicConfigFile, dynamicConfigYaml(extras));
  const { [DYNAMIC_CONFIG_SETTING]: _dc, ...templateSettings } = settings;

  const logFile = path.join(o.dataDir, 'logs', 'temporal-server.log');
  // Only what is listed here reaches the template: a stray variable of the shell (DB, NUM_HISTORY_SHARDS)
  // cannot change the server behind the record of a run.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LOG_LEVEL: 'warn',
    ...templateSettings,
    POSTGRES_SEEDS: o.database.host,
    DB_PORT: String(o.database.port),
    POSTGRES_USER: o.database.user,
    POSTGRES_PWD: o.database.password,
    DBNAME: TEMPORAL_DB,
    VISIBILITY_DBNAME: TEMPORAL_VISIBILITY_DB,
    BIND_ON_IP: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: dynamicConfigFile,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  // No authorizer: it listens on 127.0.0.1 only, for the bench's own processes (compose puts it on a
  // network of its own, reachable by the API and the worker only).
  const child = launch({ name: 'the Temporal server', command: server, args: ['--allow-no-auth', 'start'], env, group: true, output: 'file', logFile });
  const stop = () => child.stop('SIGTERM', 15_000);
  const address = `127.0.0.1:${o.port}`;
  try {
    await registerNamespace(address, () => child.running(), logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  const pid = child.pid;
  return { address, pid, settings, stop };
}

const NAMESPACE = 'default';
/** As deploy/temporal/setup-namespace.sh creates it (NAMESPACE_RETENTION's default). */
const RETENTION = '30 days';

/**
 * The real server starts with no `default` namespace (the dev server has one) and no custom search
 * attributes: both are made here, as setup-namespace.sh does in compose, and waited for until the
 * frontend answers a query by a search attribute (its namespace and search attribute caches refresh
 * on their own schedule).
 */
async function registerNamespace(address: string, running: () => boolean, logFile: string): Promise<void> {
  const failed = () => new StartupError(`the Temporal server did not start; see ${logFile}`);
  let connection: Connection | undefined;
  const up = await waitUntil(async () => {
    if (!running()) return true;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      return true;
    } catch {
      await connection?.close().catch(() => undefined);
      connection = undefined;
      return false;
    }
  }, 120_000, 500);
  if (!up || !running() || !connection) throw failed();
  const c = connection;
  try {
    let lastError = '';
    const ready = await waitUntil(async () => {
      if (!running()) return true;
      try {
        await c.workflowService.describeNamespace({ namespace: NAMESPACE }).catch(async (err: unknown) => {
          if ((err as { code?: number }).code !== 5) throw err; // 5: NOT_FOUND
          await c.workflowService.registerNamespace({ namespace: NAMESPACE, workflowExecutionRetentionPeriod: msToTs(RETENTION) });
        });
        await ensureSearchAttributes(c, NAMESPACE);
        await c.workflowService.countWorkflowExecutions({ namespace: NAMESPACE, query: 'ReservationStatus = "CONFIRMED"' });
        return true;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        return false;
      }
    }, 120_000, 1_000);
    if (!running()) throw failed();
    if (!ready) throw new StartupError(`the Temporal server's namespace ${NAMESPACE} was not ready within 120 s: ${lastError}`);
    // The frontend knows the namespace and its search attributes; history's copy of the namespace
    // refreshes on its own timer (system.namespaceCacheRefreshInterval, 2 s): a workflow started
    // before that could find its search attributes unknown there.
    await new Promise((r) => setTimeout(r, 3_000));
  } finally {
    await c.close();
  }
}
