/** Spawning the project's own commands as a user would, and watching them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, waitUntil } from '../platform/process.js';

export interface Launched {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Runs `npm run <script>` (or `npm start`) in its own process group, as a terminal would. */
export function launch(script: string, env: Record<string, string>, extraArgs: string[] = []): Launched {
  const args = [...(script === 'start' ? ['start'] : ['run', '--silent', script]), ...(extraArgs.length ? ['--', ...extraArgs] : [])];
  // API processes run side by side in the tests: each takes a free metrics port unless told one.
  const child = spawn('npm', args, { env: { ...process.env, API_METRICS_PORT: '0', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitForOutput(text, timeoutMs = 120_000) {
      let exited = false;
      void exit.then(() => (exited = true));
      const seen = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      const ok = await waitUntil(() => seen() || exited, timeoutMs, 100);
      if (!ok || !seen()) throw new Error(`"${String(text)}" not printed; stdout:\n${out}\nstderr:\n${err}`);
    },
    exit,
  };
}

/** The pids of the embedded PostgreSQL and Temporal dev server recorded under a data directory. */
export function infraPids(dataDir: string): number[] {
  const read = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : NaN);
  return [read(path.join(dataDir, 'postgres', 'postmaster.pid')), read(path.join(dataDir, 'temporal', 'dev-server.pid'))].filter(
    (pid) => Number.isInteger(pid) && pid > 0,
  );
}

export async function allGone(pids: number[], timeoutMs = 5_000): Promise<boolean> {
  return waitUntil(() => pids.every((pid) => !isAlive(pid)), timeoutMs, 100);
}

/** Kills a process (negative: a whole group), for cleanup after a failed test. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export const killGroup = (child: ChildProcess) => killQuietly(-child.pid!);
