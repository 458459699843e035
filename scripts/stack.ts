/** Shared start-up steps of the launchers and the test suite: infrastructure, database, worker, API. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createAssignmentBreaker } from '../activities/assignment.js';
import { createActivities } from '../activities/index.js';
import { createApp } from '../api/app.js';
import { codecAppFromConfig } from '../api/codec/app.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Database } from '../db/schema.js';
import { seedDemoData } from '../db/seed.js';
import { resolveAssignmentToken } from '../shared/auth.js';
import { dataConverterFor } from '../shared/codec.js';
import type { PayloadKey } from '../shared/payload-keys.js';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import { tracingClientInterceptors, tracingWorkerOptions } from '../shared/tracing.js';
import { ensureNotifyDrainSchedule, ensureReconcilerSchedule, ensureRetentionSchedule } from '../workers/schedules.js';
import { activityCompletionLog } from '../workers/activity-log.js';
import { createWorkerMetrics, serveWorkerMetrics } from '../workers/metrics.js';
import { sdkMetricsUrl } from '../workers/runtime.js';
import { ensureSearchAttributes } from '../workers/search-attributes.js';
import { createReservationWorker } from '../workers/worker.js';
import { listen, type RunningServer } from './infra/http.js';
import { startEmbeddedPostgres } from './infra/postgres.js';
import { openDatabase } from './database.js';
import { exited, StartupError, terminate, trackChild, waitUntil } from './infra/process.js';
import { startTemporalDevServer } from './infra/temporal.js';

export interface Infra {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  embedded: { postgres: boolean; temporal: boolean };
  stop(): Promise<void>;
}

/** Uses DATABASE_URL / TEMPORAL_ADDRESS when set, otherwise starts the embedded ones. */
export async function startInfra(config: Config, say: (line: string) => void = () => undefined): Promise<Infra> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      say(`starting embedded PostgreSQL on 127.0.0.1:${config.embeddedPostgresPort} …`);
      const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
      stops.push(pg.stop);
      databaseUrl = pg.url;
    }
    // Fail fast on an unreachable database before spending time on Temporal.
    await (await openDatabase(databaseUrl)).destroy();
    let temporalAddress = config.temporal.address;
    let temporalUiUrl: string | undefined;
    if (!temporalAddress) {
      say(`starting the Temporal dev server on 127.0.0.1:${config.temporal.devServerPort} …`);
      const t = await startTemporalDevServer({
        dataDir: config.dataDir,
        port: config.temporal.devServerPort,
        uiPort: config.temporal.devServerUiPort,
        cliPath: config.temporal.cliPath,
        sqlitePragmas: config.temporal.sqlitePragmas,
        dynamicConfig: config.temporal.devServerDynamicConfig,
        ...(config.temporal.payloadKeys ? { uiCodecEndpoint: codecUrl(config) } : {}),
        log: say,
      });
      stops.push(t.stop);
      temporalAddress = t.address;
      temporalUiUrl = t.uiUrl;
    }
    return {
      databaseUrl,
      temporalAddress,
      temporalUiUrl,
      embedded: { postgres: !config.databaseUrl, temporal: !config.temporal.address },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// Re-exported: the launchers and the tests take them from here.
export { openDatabase, redactUrl } from './database.js';

/** Runs migrations, then the idempotent demo seed. */
export async function prepareDatabase(db: Kysely<Database>, options: { seed: boolean }) {
  const migrated = await migrateToLatest(db);
  const seeded = options.seed ? await seedDemoData(db) : { products: 0, agencies: 0 };
  return { migrated, seeded };
}

export type TemporalAccess = Config['temporal']['access'];

/**
 * What a connection to Temporal needs beyond its address: TLS (with a client certificate and key
 * for mutual TLS, and a private CA if any) and an API key, as Temporal Cloud asks; nothing for the
 * dev server. The PEM files are read here, at start: a missing one is a one-line start-up error.
 */
export function temporalConnection(access: TemporalAccess | undefined) {
  if (!access?.tls) return {};
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new StartupError(`${what} ${file} cannot be read: ${(err as Error).message}`);
    }
  };
  const tls = {
    ...(access.certPath && access.keyPath
      ? { clientCertPair: { crt: read(access.certPath, 'TEMPORAL_TLS_CERT'), key: read(access.keyPath, 'TEMPORAL_TLS_KEY') } }
      : {}),
    ...(access.caPath ? { serverRootCACertificate: read(access.caPath, 'TEMPORAL_TLS_CA') } : {}),
  };
  return { tls: Object.keys(tls).length > 0 ? tls : true, ...(access.apiKey ? { apiKey: access.apiKey } : {}) };
}

export async function connectTemporal(address: string, namespace: string, payloadKeys?: PayloadKey[], access?: TemporalAccess) {
  const options = temporalConnection(access);
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5_000, ...options });
    await connection.workflowService.getSystemInfo({});
    // With tracing on (shared/tracing.ts), workflow starts, updates and signals carry the trace.
    const dataConverter = dataConverterFor(payloadKeys);
    const client = new Client({ connection, namespace, interceptors: { workflow: tracingClientInterceptors() }, ...(dataConverter ? { dataConverter } : {}) });
    return { connection, client };
  } catch (err) {
    throw new StartupError(`Temporal unreachable at ${address}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export interface RunningWorker {
  worker: Worker;
  /** The worker's Prometheus endpoint, when it is being served. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** Registers search attributes if missing, then runs the reservation worker until stopped. */
export async function startWorker(
  config: Config,
  deps: { db: Kysely<Database>; temporalAddress: string; log: Logger; /** Serve GET /metrics here (workers/metrics.ts). */ metricsPort?: number },
): Promise<RunningWorker> {
  const tracing = tracingWorkerOptions();
  // With tracing on, the workflow code must carry the tracing interceptors: the tracing bundle.
  const { workflowBundlePath, workflowTracingBundlePath } = config.temporal;
  const traced = tracing !== undefined && workflowTracingBundlePath !== undefined;
  const bundleVar = traced ? 'WORKFLOW_TRACING_BUNDLE_PATH' : 'WORKFLOW_BUNDLE_PATH';
  const bundlePath = traced ? workflowTracingBundlePath : workflowBundlePath;
  if (bundlePath && !existsSync(bundlePath)) {
    throw new StartupError(`${bundleVar}=${bundlePath} does not exist (build it with "npm run build:bundle${traced ? ' -- --tracing' : ''}")`);
  }
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: deps.temporalAddress, ...temporalConnection(config.temporal.access) });
  } catch (err) {
    throw new StartupError(`Temporal unreachable at ${deps.temporalAddress}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const added = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (added.length > 0) deps.log.info('registered search attributes', { added });
  const dataConverter = dataConverterFor(config.temporal.payloadKeys);
  const schedules = new Client({ connection, namespace: config.temporal.namespace, ...(dataConverter ? { dataConverter } : {}) });
  if (config.reconcileEveryMs > 0) {
    const schedule = await ensureReconcilerSchedule(schedules, config.temporal.taskQueue, config.reconcileEveryMs);
    if (schedule.created) deps.log.info('created the reconciler schedule', schedule);
  }
  if (config.notifier.drainEveryMs > 0) {
    const schedule = await ensureNotifyDrainSchedule(schedules, config.temporal.taskQueue, config.notifier.taskQueue, config.notifier.drainEveryMs);
    if (schedule.created) deps.log.info('created the notification drain schedule', schedule);
  }
  if (config.retention.everyMs > 0) {
    const schedule = await ensureRetentionSchedule(schedules, config.temporal.taskQueue, config.retention.everyMs, config.retention.afterMs);
    if (schedule.created) deps.log.info('created the retention schedule', schedule);
  }
  const breaker = createAssignmentBreaker(config.assignment.breaker);
  if (tracing && bundlePath && !traced) {
    deps.log.warn('tracing: WORKFLOW_BUNDLE_PATH has no tracing interceptors and no WORKFLOW_TRACING_BUNDLE_PATH is set; workflow spans are missing', { bundlePath });
  }
  const worker = await createReservationWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    identity: config.temporal.workerIdentity,
    ...(dataConverter ? { dataConverter } : {}),
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
    activities: createActivities({
      db: deps.db,
      assignmentUrl: config.assignment.url,
      assignmentToken: resolveAssignmentToken(config.assignment.token, config.dataDir),
      breaker,
    }),
    interceptors: { activity: [...(tracing?.activity ?? []), activityCompletionLog], workflowModules: tracing?.workflowModules },
    ...(tracing ? { sinks: tracing.sinks } : {}),
  });
  const running = worker.run();
  running.catch((err) => deps.log.error('worker stopped with an error', { error: err }));
  const metrics =
    deps.metricsPort === undefined
      ? undefined
      : await serveWorkerMetrics(
          createWorkerMetrics({ db: deps.db, breaker, sdkMetricsUrl: sdkMetricsUrl() }),
          config.workerMetrics.host,
          deps.metricsPort,
          deps.log,
        );
  return {
    worker,
    metricsUrl: metrics?.url,
    async stop() {
      await metrics?.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** The codec endpoint of `npm start` (with PAYLOAD_KEYS): beside the Web UI, on loopback. */
export const codecUrl = (config: Config) => `http://127.0.0.1:${config.codecPort ?? config.http.port + 3}`;

/** Serves the codec endpoint on loopback, for the dev server's Web UI. */
export async function startCodecServer(config: Config, authSecret: string): Promise<RunningServer | undefined> {
  const ui = config.temporal.devServerUiPort;
  const app = codecAppFromConfig(config, authSecret, [`http://localhost:${ui}`, `http://127.0.0.1:${ui}`]);
  if (!app) return undefined;
  return listen(app.fetch, '127.0.0.1', Number(new URL(codecUrl(config)).port), 'codec endpoint, CODEC_PORT');
}

/** Serves the reservation API. */
export async function startApi(
  config: Config,
  deps: { db: Kysely<Database>; client: Client; log: Logger; authSecret: string; /** The web app's bundle, if served. */ webDir?: string },
): Promise<RunningServer> {
  const app = createApp({
    db: deps.db,
    temporal: deps.client,
    taskQueue: config.temporal.taskQueue,
    policy: config.policy,
    notifierTaskQueue: config.notifier.taskQueue,
    admission: config.admission,
    log: deps.log,
    authSecret: deps.authSecret,
    tokenMaxTtlSeconds: config.tokenMaxTtlSeconds,
    identityProvider: config.identityProvider,
    ...(deps.webDir ? { web: { dir: deps.webDir, devLogin: config.web.devLogin } } : {}),
    workerMetricsUrls: config.web.workerMetricsUrls,
  });
  const server = await listen(app.fetch, config.http.host, config.http.port, 'API, PORT');
  return {
    url: server.url,
    async close() {
      await app.closeStreams();
      await server.close();
    },
  };
}

/**
 * The assignment service is small and lightly loaded: a 1 MiB young generation (V8's default grows
 * to 16 MiB) keeps it ~20 MiB smaller during and after activity and ~4 MiB at idle, at no CPU cost
 * that bench/memory.ts could see. The same flag as in package.json's start:assignment.
 */
const ASSIGNMENT_V8_FLAGS = ['--max-semi-space-size=1'];

/** Runs the assignment service as its own process (as in production), for the all-in-one launcher. */
export async function spawnAssignmentService(config: Config, databaseUrl: string): Promise<RunningServer> {
  const entry = fileURLToPath(new URL('../api/assignment/main.ts', import.meta.url));
  // As `npm run start:assignment` runs it: compiled, without a TypeScript loader (scripts/run.mjs).
  const runner = fileURLToPath(new URL('./run.mjs', import.meta.url));
  const child = spawn(process.execPath, [...ASSIGNMENT_V8_FLAGS, runner, entry], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      ASSIGNMENT_PORT: String(config.assignment.port),
      ASSIGNMENT_TOKEN: resolveAssignmentToken(config.assignment.token, config.dataDir),
      LOG_LEVEL: config.logLevel,
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const untrack = trackChild(child.pid!);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    process.stderr.write(d);
  });
  const url = config.assignment.url;
  const up = await waitUntil(async () => {
    if (child.exitCode !== null) return true;
    return fetch(new URL('/healthz', url)).then((r) => r.ok, () => false);
  }, 30_000, 200);
  const stop = async () => {
    await terminate(child.pid!, 'SIGTERM', 8_000);
    await exited(child);
    untrack();
  };
  if (!up || child.exitCode !== null) {
    await stop();
    const reason = stderr.trim().split('\n').find((l) => l.startsWith('tshop:'))?.replace(/^tshop: /, '');
    throw new StartupError(`the assignment service did not start${reason ? `: ${reason}` : ''}`);
  }
  return { url, close: stop };
}
