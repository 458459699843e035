/**
 * How every process of the stack is spawned (dev/stack.ts starts the stack; dev/postgres.ts,
 * dev/temporal.ts and dev/temporal-server.ts start their servers through this too): tracked so
 * that a launcher exiting without stopping it kills it rather than leaving an orphan, its output
 * either in a log file (a server that must outlive a killed launcher: PostgreSQL, Temporal) or read
 * line by line (kept, echoed, appended to a log file), ready once a probe answers or a line is
 * printed, stopped with a signal that escalates to SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { StartupError, terminate, trackChild, waitUntil } from '../platform/process.js';

export interface LaunchSpec {
  /** What the process is, in messages ("the assignment service"). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /**
   * A process group of its own: a terminal's Ctrl-C reaches only the launcher, which stops it in
   * order. Without: it shares the launcher's group, so a kill of that group takes it too.
   */
  group: boolean;
  /** Run as this user (PostgreSQL refuses root). */
  uid?: number;
  gid?: number;
  /**
   * 'file': stdout and stderr straight into `logFile`, unread (the process outlives a killed
   * launcher without a broken pipe). 'read' (default): read line by line, kept (the last
   * 256 KiB of each), echoed and appended to `logFile` when given.
   */
  output?: 'file' | 'read';
  logFile?: string;
  /** Each line as it comes (stdout's and stderr's). */
  echo?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface Launched {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they came. */
  output(): string;
  /** Resolves when `text` is printed; rejects if the process ends first or `timeoutMs` passes. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves once `ready()` says so; throws a StartupError (and stops the process) if it ends unready or times out. */
  waitReady(ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void>;
  readonly exit: Promise<Exit>;
  running(): boolean;
  /** `signal` (SIGTERM by default), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** SIGKILL to its process group (when it has one), or to it alone: nothing of it survives. */
  kill(): void;
}

const KEPT = 256 * 1024;

export function launch(spec: LaunchSpec): Launched {
  const toFile = spec.output === 'file';
  let fd: number | undefined;
  if (spec.logFile) {
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    if (toFile) fd = openSync(spec.logFile, 'a');
  }
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: spec.group,
    ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
    stdio: toFile ? ['ignore', fd ?? 'ignore', fd ?? 'ignore'] : ['ignore', 'pipe', 'pipe'],
  });
  if (fd !== undefined) closeSync(fd);
  const pid = child.pid!;
  const untrack = trackChild(pid);
  const streams = { stdout: '', stderr: '', both: '' };
  if (!toFile) {
    const file = spec.logFile ? createWriteStream(spec.logFile, { flags: 'a' }) : undefined;
    child.once('exit', () => file?.end());
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (line) => {
        streams[stream] = (streams[stream] + line + '\n').slice(-KEPT);
        streams.both = (streams.both + line + '\n').slice(-2 * KEPT);
        file?.write(`${line}\n`);
        spec.echo?.(line, stream);
      });
    }
  }
  const exit = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      untrack();
      resolve({ code, signal, at: Date.now() });
    }),
  );
  let ended = false;
  void exit.then(() => (ended = true));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) => {
    if (ended) return;
    await terminate(pid, signal, graceMs);
    await exit;
  };
  const launched: Launched = {
    name: spec.name,
    child,
    pid,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    output: () => streams.both,
    running: () => !ended,
    async waitForOutput(text, timeoutMs = 120_000) {
      const seen = () => (typeof text === 'string' ? streams.both.includes(text) : text.test(streams.both));
      const ok = await waitUntil(() => seen() || ended, timeoutMs, 100);
      if (!ok || !seen()) throw new Error(`${spec.name}: "${String(text)}" not printed${ended ? ' before it exited' : ` within ${timeoutMs} ms`}; stdout:\n${streams.stdout}\nstderr:\n${streams.stderr}`);
    },
    async waitReady(ready, timeoutMs) {
      const ok = await waitUntil(async () => ended || (await ready()), timeoutMs, 150);
      // Ready (a process whose work is done once it exits, too), unless it ended without being.
      if (ok && (await ready())) return;
      await stop();
      // The part's own one-line reason (`tshop: …`), else its last words.
      const reason = streams.stderr.split('\n').findLast((l) => l.startsWith('tshop: '))?.slice('tshop: '.length) ?? streams.both.trim().split('\n').slice(-20).join('\n');
      throw new StartupError(`${spec.name} did not start${ok ? '' : ` within ${timeoutMs / 1000} s`}${reason ? `: ${reason}` : spec.logFile ? `; see ${spec.logFile}` : ''}`);
    },
    exit,
    stop,
    kill() {
      try {
        process.kill(spec.group ? -pid : pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  return launched;
}
