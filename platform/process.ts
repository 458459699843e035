/**
 * Small process helpers for the dev-stack launcher: ports, pids, waiting. Hand-written rather than
 * execa/tree-kill/detect-port: a few lines over node:net and process.kill, and they also stop a
 * stale server by the pid an earlier run left in its pid file.
 */
import { type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A start-up failure that is reported as one line, without a stack trace. */
export class StartupError extends Error {}

export async function assertPortFree(port: number, what: string, host = '0.0.0.0'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new StartupError(`port ${port} (${what}) is already in use; stop what uses it or set another port`)
          : err,
      ),
    );
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a running process ('' if it is gone or unreadable). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** Sends `signal`, escalating to SIGKILL after `graceMs`; resolves when the process is gone. */
export async function terminate(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  if (await waitUntil(() => !isAlive(pid), graceMs, 50)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitUntil(() => !isAlive(pid), 2_000, 50);
}

/** Resolves with the exit of a child (immediately if it already exited). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

// Children the launcher started. If it exits without stopping them (a crash, the shutdown budget
// running out), they are killed on the way out rather than left as orphans.
const tracked = new Set<number>();
let exitHookInstalled = false;

export function trackChild(pid: number): () => void {
  tracked.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killTrackedChildren);
  }
  return () => tracked.delete(pid);
}

function killTrackedChildren(): void {
  for (const pid of tracked) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  tracked.clear();
}
