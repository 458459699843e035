/**
 * `npm run bench:hot-row [-- --seconds 8] [--out file]`: how many commits a second PostgreSQL takes
 * on one row that every writer updates (a product's stock, a sale's counters) against the same
 * writes spread over many rows, on this machine's disk, with the same settings as every other part
 * of the bench (the embedded PostgreSQL, fsync and synchronous_commit on).
 *
 * A row's next writer waits until the previous one has committed, WAL flush included, so one row's
 * commit rate is bounded by the flush, whatever the client count; spread rows share flushes (group
 * commit). `docs/capacity.md` derives a launch's ceiling per product from these figures.
 * Results: bench/results/<date>-hot-row.json, naming the commit measured and whether it was clean.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startStack } from '../dev/stack.js';
import { summarize, type LatencySummary } from '../bench/load.js';
import { cpuMsBetween, cpuTicks } from '../bench/procfs.js';
import { thisCheckout } from '../bench/compare/checkout.js';
import { runMain, say } from '../platform/run-main.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const PG_PORT = 25463; // its own port, so it never meets a developer's stack or the tests

interface Variant {
  label: string;
  /** Rows the writers pick from at random; 1 = every write on the same row. */
  rows: number;
  clients: number;
  synchronousCommit: 'on' | 'off';
}

const VARIANTS: Variant[] = [
  { label: 'one row, 1 writer', rows: 1, clients: 1, synchronousCommit: 'on' },
  { label: 'one row, 8 writers', rows: 1, clients: 8, synchronousCommit: 'on' },
  { label: 'one row, 32 writers', rows: 1, clients: 32, synchronousCommit: 'on' },
  { label: '1,000 rows, 8 writers', rows: 1_000, clients: 8, synchronousCommit: 'on' },
  { label: '1,000 rows, 32 writers', rows: 1_000, clients: 32, synchronousCommit: 'on' },
  { label: 'one row, 32 writers, synchronous_commit off', rows: 1, clients: 32, synchronousCommit: 'off' },
];

interface Measured {
  label: string;
  rows: number;
  clients: number;
  synchronous_commit: string;
  seconds: number;
  commits: number;
  commits_per_s: number;
  latency: LatencySummary;
  postgres_cpu_ms_per_commit: number;
}

/** Writers in a closed loop for `seconds`: each commits one `UPDATE … SET n = n + 1` at a time. */
async function measure(url: string, v: Variant, seconds: number, postgresPid: number): Promise<Measured> {
  const pool = new pg.Pool({ connectionString: url, max: v.clients });
  const clients = await Promise.all(Array.from({ length: v.clients }, () => pool.connect()));
  for (const c of clients) await c.query(`set synchronous_commit = ${v.synchronousCommit}`);
  const latencies: number[] = [];
  const before = cpuTicks({ postgres: postgresPid });
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await c.query({ name: 'bump', text: 'update hot set n = n + 1 where id = $1', values: [1 + Math.floor(Math.random() * v.rows)] });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuMsBetween(before, cpuTicks({ postgres: postgresPid })).postgres ?? 0;
  for (const c of clients) c.release();
  await pool.end();
  return {
    label: v.label,
    rows: v.rows,
    clients: v.clients,
    synchronous_commit: v.synchronousCommit,
    seconds: Math.round(elapsed * 10) / 10,
    commits: latencies.length,
    commits_per_s: Math.round(latencies.length / elapsed),
    latency: summarize(latencies),
    postgres_cpu_ms_per_commit: Math.round((cpu / latencies.length) * 1000) / 1000,
  };
}

async function main(registerStop: (stop: () => Promise<void>) => void): Promise<void> {
  const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, out: { type: 'string' } } });
  const seconds = Number(args.seconds);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-hot-row-'));
  const stack = await startStack({ dataDir, parts: ['postgres'], ports: { pg: PG_PORT }, onStoppable: registerStop });
  const postgres = { url: stack.databaseUrl, pid: stack.part('postgres').pid()!, stop: stack.stop };
  const results: Measured[] = [];
  try {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('create table hot (id int primary key, n bigint not null default 0)');
    await admin.query('insert into hot (id) select generate_series(1, 1000)');
    await admin.end();
    for (const v of VARIANTS) {
      const m = await measure(postgres.url, v, seconds, postgres.pid);
      say(`${m.label}: ${m.commits_per_s} commits/s, p50 ${m.latency.p50_ms} ms, p99 ${m.latency.p99_ms} ms, PostgreSQL ${m.postgres_cpu_ms_per_commit} ms CPU per commit`);
      results.push(m);
    }
  } finally {
    await postgres.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const source = thisCheckout(root);
  const out = args.out ?? path.join(root, 'bench/results', `${new Date().toISOString().slice(0, 10)}-hot-row.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  const report = {
    timestamp: new Date().toISOString(),
    source: { commit: source.commit, dirty: source.dirty, subject: source.subject },
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    note: 'Embedded PostgreSQL on the local disk, fsync and synchronous_commit on unless the variant says off; every writer in this process.',
    variants: results,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  say(`JSON: ${path.relative(root, out)}`);
}

runMain('bench:hot-row', main);
