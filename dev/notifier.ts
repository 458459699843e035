/**
 * The Python notifier (notifier/) as a child process of the dev stack: its pinned requirements in a
 * venv of its own under `.tools/` (made on first start, rebuilt when they change), started with the
 * stack's database and Temporal, ready once it says it polls.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { exited, StartupError, terminate, trackChild, waitUntil } from '../platform/process.js';
import { fileStamp, installPythonTool } from './python.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
const notifierDir = path.join(projectRoot, 'notifier');

/** Installs one of the notifier's requirement sets into its venv; the venv's python. */
function installVenv(name: string, requirements: string, say: (line: string) => void): string {
  const venv = path.join(projectRoot, '.tools', name);
  const file = path.join(notifierDir, requirements);
  // requirements-test.txt includes requirements.txt (`-r`): a change to either rebuilds the venv.
  const stamp = [file, path.join(notifierDir, 'requirements.txt')].map(fileStamp).join(':');
  const python = installPythonTool(venv, 'python', ['-r', file], stamp);
  if (python) return python;
  say(`installing the notifier's Python requirements (notifier/${requirements}) into .tools/${name} failed`);
  throw new StartupError(`could not install notifier/${requirements} into .tools/${name} (needs python3 with venv, and PyPI)`);
}

/** The notifier's runtime venv (`.tools/notifier`). */
export const installNotifier = (say: (line: string) => void = () => undefined) => installVenv('notifier', 'requirements.txt', say);
/** The venv its tests run in (`.tools/notifier-test`: the runtime requirements and pytest). */
export const installNotifierTests = (say: (line: string) => void = () => undefined) => installVenv('notifier-test', 'requirements-test.txt', say);

export interface NotifierOptions {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** Anything else for its environment (KAKAO_*, PAYLOAD_KEYS, NOTIFIER_RATE … come from process.env). */
  env?: Record<string, string>;
  /** Where its log lines go (JSON, one per line); the launcher's stdout by default. */
  output?: (line: string) => void;
}

export interface RunningNotifier {
  pid: number;
  /** `kakao`, or `sink` when no KAKAO_API_URL is set. */
  channel: string;
  identity: string;
  stop(): Promise<void>;
}

/** Starts `python -m notifier` and waits (60 s at most) until it polls its task queue. */
export async function spawnNotifier(options: NotifierOptions, say: (line: string) => void = () => undefined): Promise<RunningNotifier> {
  const python = installNotifier(say);
  const child = spawn(python, ['-m', 'notifier'], {
    cwd: projectRoot,
    env: {
      ...process.env,
      PYTHONPATH: projectRoot,
      PYTHONUNBUFFERED: '1',
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_NAMESPACE: options.namespace,
      NOTIFIER_TASK_QUEUE: options.taskQueue,
      // Killed outright, the launcher cannot stop it: it then stops itself.
      NOTIFIER_EXIT_WITH_PARENT: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const untrack = trackChild(child.pid!);
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  let polling: { channel: string; identity: string } | undefined;
  let lastError = '';
  createInterface({ input: child.stdout! }).on('line', (line) => {
    output(line);
    const entry = parseJson(line);
    if (entry?.msg === 'notifier polling') polling = { channel: String(entry.channel), identity: String(entry.identity) };
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    output(line);
    if (line.trim()) lastError = line.trim();
  });
  const stop = async () => {
    await terminate(child.pid!, 'SIGTERM', 8_000);
    await exited(child);
    untrack();
  };
  await waitUntil(() => polling !== undefined || child.exitCode !== null, 60_000, 100);
  if (!polling) {
    await stop();
    throw new StartupError(`the notifier did not start${lastError ? `: ${lastError}` : ''}`);
  }
  return { pid: child.pid!, ...polling, stop };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
