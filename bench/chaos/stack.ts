/**
 * The chaos run's stack: PostgreSQL and the Temporal dev server (state kept in one data directory,
 * so either can be restarted), and the assignment service, the worker, the notifier and the API as
 * processes of their own that can be killed and started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../platform/config.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/postgres.js';
import { exited, terminate, trackChild, waitUntil } from '../../platform/process.js';
import { startTemporalDevServer, type RunningTemporal } from '../../dev/temporal.js';
import { installNotifier } from '../../dev/notifier.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PRAGMAS = parseConfig().temporal.sqlitePragmas;
export type Part = 'api' | 'worker' | 'assignment' | 'notifier';
type NodePart = Exclude<Part, 'notifier'>;
const ENTRY: Record<NodePart, string> = { api: 'cmd/api.ts', worker: 'cmd/worker.ts', assignment: 'cmd/assignment.ts' };
const READY: Record<Part, string> = { api: 'API listening', worker: 'worker polling', assignment: 'assignment service listening', notifier: 'notifier polling' };

/** The command of a part: node with tsx, or the notifier's python itself (a SIGKILL must reach it, not a launcher). */
function commandOf(part: Part): [string, string[]] {
  if (part === 'notifier') return [installNotifier(), ['-m', 'notifier']];
  return [process.execPath, ['--import', 'tsx', path.join(root, ENTRY[part])]];
}

export const PORTS = { api: 18288, assignment: 18289, pg: 25472, temporal: 17273, ui: 18273, workerMetrics: 18290 };

export interface ChaosStack {
  readonly pgUrl: string;
  readonly temporalAddress: string;
  start(part: Part): Promise<void>;
  stop(part: Part, signal: NodeJS.Signals): Promise<void>;
  /** Stops a part with `signal`, leaves it down for `downMs`, starts it again. */
  restart(part: Part, signal: NodeJS.Signals, downMs: number): Promise<void>;
  restartTemporal(): Promise<void>;
  restartPostgres(): Promise<void>;
  teardown(): Promise<void>;
}

/** Starts PostgreSQL and Temporal; the parts start on demand with `env` (the lifecycle's time limits). */
export async function startChaosStack(dataDir: string, env: Record<string, string>, onCrash: (part: Part, log: string) => void): Promise<ChaosStack> {
  const logs = path.join(dataDir, 'logs');
  mkdirSync(logs, { recursive: true });
  let pg: RunningPostgres = await startEmbeddedPostgres({ dataDir, port: PORTS.pg });
  const startTemporal = () => startTemporalDevServer({ dataDir, port: PORTS.temporal, uiPort: PORTS.ui, sqlitePragmas: PRAGMAS });
  let temporal: RunningTemporal = await startTemporal();
  const children = new Map<Part, ChildProcess>();
  const partEnv = () => ({
    ...process.env,
    ...env,
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    TEMPORAL_ADDRESS: temporal.address,
    ASSIGNMENT_PORT: String(PORTS.assignment),
    ASSIGNMENT_URL: `http://127.0.0.1:${PORTS.assignment}`,
    PORT: String(PORTS.api),
    API_METRICS_PORT: '0',
    WORKER_METRICS_PORT: String(PORTS.workerMetrics),
  });

  const stop = async (part: Part, signal: NodeJS.Signals) => {
    const child = children.get(part);
    if (!child) return;
    children.delete(part);
    await terminate(child.pid!, signal, 10_000);
    await exited(child);
  };
  const stack: ChaosStack = {
    get pgUrl() {
      return pg.url;
    },
    get temporalAddress() {
      return temporal.address;
    },
    async start(part) {
      const [command, args] = commandOf(part);
      const child = spawn(command, args, { cwd: root, env: { ...partEnv(), PYTHONPATH: root, PYTHONUNBUFFERED: '1', NOTIFIER_EXIT_WITH_PARENT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      trackChild(child.pid!);
      const file = createWriteStream(path.join(logs, `${part}.log`), { flags: 'a' });
      let out = '';
      const keep = (d: Buffer) => {
        out = (out + d).slice(-20_000);
        file.write(d);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      if (!(await waitUntil(() => out.includes(READY[part]) || child.exitCode !== null, 120_000, 100)) || child.exitCode !== null) {
        throw new Error(`${part} did not start:\n${out}`);
      }
      children.set(part, child);
      // Only the run stops a part: any other exit is a crash the run must report.
      child.once('exit', (code, signal) => {
        file.end();
        if (children.get(part) === child) {
          children.delete(part);
          onCrash(part, `exit ${code ?? signal}; last output:\n${out.slice(-4_000)}`);
        }
      });
    },
    stop,
    async restart(part, signal, downMs) {
      await stop(part, signal);
      await new Promise((r) => setTimeout(r, downMs));
      await stack.start(part);
    },
    async restartTemporal() {
      await temporal.stop();
      temporal = await startTemporal();
    },
    async restartPostgres() {
      await pg.stop();
      pg = await startEmbeddedPostgres({ dataDir, port: PORTS.pg });
    },
    async teardown() {
      for (const part of [...children.keys()]) await stop(part, 'SIGTERM').catch(() => undefined);
      await temporal.stop().catch(() => undefined);
      await pg.stop().catch(() => undefined);
    },
  };
  return stack;
}
