/** The development stack of `npm start` and the test suite: embedded PostgreSQL and Temporal when no
 * DATABASE_URL / TEMPORAL_ADDRESS is given, and the assignment service as a child process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { codecUrl } from '../api/codec/server.js';
import { openDatabase } from '../db/open.js';
import { resolveAssignmentToken } from '../platform/auth.js';
import type { Config } from '../platform/config.js';
import type { RunningServer } from '../platform/http.js';
import { exited, StartupError, terminate, trackChild, waitUntil } from '../platform/process.js';
import { startEmbeddedPostgres } from './postgres.js';
import { startTemporalDevServer } from './temporal.js';

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

/**
 * The assignment service is small and lightly loaded: a 1 MiB young generation (V8's default grows
 * to 16 MiB) keeps it ~20 MiB smaller during and after activity and ~4 MiB at idle, at no CPU cost
 * that cmd/bench-memory.ts could see. The same flag as in package.json's start:assignment.
 */
const ASSIGNMENT_V8_FLAGS = ['--max-semi-space-size=1'];

/** Runs the assignment service as its own process (as in production), for the all-in-one launcher. */
export async function spawnAssignmentService(config: Config, databaseUrl: string): Promise<RunningServer> {
  const entry = fileURLToPath(new URL('../cmd/assignment.ts', import.meta.url));
  // As `npm run start:assignment` runs it: compiled, without a TypeScript loader (cmd/run.mjs).
  const runner = fileURLToPath(new URL('../cmd/run.mjs', import.meta.url));
  const child = spawn(process.execPath, [...ASSIGNMENT_V8_FLAGS, runner, entry], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      // Its own role when one is given; the embedded superuser's otherwise (development only).
      ASSIGNMENT_DATABASE_URL: config.assignment.databaseUrl ?? databaseUrl,
      ASSIGNMENT_PORT: String(config.assignment.port),
      ASSIGNMENT_METRICS_PORT: String(config.assignment.metrics.port ?? config.http.port + 5),
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
