/**
 * `npm run chaos [-- --quick] [-- --minutes 30]`: while reservations and cancellations flow through
 * the real API, kill the worker with SIGKILL (and restart it), stop the assignment service for a
 * while, restart the Temporal dev server and PostgreSQL (their state persisted). Then every
 * reservation must be in the state its history demands and every invariant must hold; the run
 * prints what it did and found, and exits non-zero on any violation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { checkInvariants } from '../db/invariants.js';
import type { Database } from '../db/schema.js';
import { signToken } from '../shared/auth.js';
import { parseConfig } from '../shared/config.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../scripts/infra/postgres.js';
import { exited, terminate, trackChild, waitUntil } from '../scripts/infra/process.js';
import { startTemporalDevServer, type RunningTemporal } from '../scripts/infra/temporal.js';
import { openDatabase, prepareDatabase } from '../scripts/stack.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const PRAGMAS = parseConfig().temporal.sqlitePragmas;
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, minutes: { type: 'string' } } });
const LOAD_MS = args.minutes ? Number(args.minutes) * 60_000 : args.quick ? 100_000 : 300_000;
const say = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tshop-chaos-'));
const ports = { api: 18288, assignment: 18289, pg: 25472, temporal: 17273, ui: 18273 };
const JWT_SECRET = randomBytes(32).toString('hex');
const base = `http://127.0.0.1:${ports.api}`;

let pg: RunningPostgres;
let temporal: RunningTemporal;
const children = new Map<string, ChildProcess>();

function env() {
  return {
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    TEMPORAL_ADDRESS: temporal.address,
    ASSIGNMENT_PORT: String(ports.assignment),
    ASSIGNMENT_URL: `http://127.0.0.1:${ports.assignment}`,
    ASSIGNMENT_DEADLINE: '10m',
    PORT: String(ports.api),
    JWT_SECRET,
    LOG_LEVEL: 'error',
  };
}

/** Starts one part (api, worker, assignment) as its own process and waits for its ready line. */
async function startPart(name: 'api' | 'worker' | 'assignment') {
  const entry = { api: 'api/main.ts', worker: 'workers/main.ts', assignment: 'api/assignment/main.ts' }[name];
  const ready = { api: 'API listening', worker: 'worker polling', assignment: 'assignment service listening' }[name];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], { cwd: root, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  if (!(await waitUntil(() => out.includes(ready) || child.exitCode !== null, 120_000, 100)) || child.exitCode !== null) {
    throw new Error(`${name} did not start:\n${out}`);
  }
  children.set(name, child);
}

async function stopPart(name: string, signal: NodeJS.Signals) {
  const child = children.get(name);
  if (!child) return;
  children.delete(name);
  await terminate(child.pid!, signal, 10_000);
  await exited(child);
}

interface Attempt {
  key: string;
  status: number | 'error';
  id?: string;
  cancel?: number | 'error';
}

async function main() {
  say(`data in ${dataDir}; load for ${LOAD_MS / 1000} s`);
  pg = await startEmbeddedPostgres({ dataDir, port: ports.pg });
  temporal = await startTemporalDevServer({ dataDir, port: ports.temporal, uiPort: ports.ui, sqlitePragmas: PRAGMAS });
  let db: Kysely<Database> = await openDatabase(pg.url);
  await prepareDatabase(db, { seed: true });
  await db.destroy();
  for (const part of ['assignment', 'worker', 'api'] as const) await startPart(part);
  say('stack up: PostgreSQL, Temporal, assignment service, worker, API (separate processes)');

  const authorization = `Bearer ${await signToken(JWT_SECRET, { role: 'admin', sub: 'chaos' })}`;
  const send = async (method: string, route: string, body?: unknown, key?: string) => {
    const headers: Record<string, string> = { authorization };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (key) headers['idempotency-key'] = key;
    const res = await fetch(`${base}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  /** Retries through outages with the same Idempotency-Key, as a careful client would. */
  const persist = async (method: string, route: string, body: unknown, key: string, until: number) => {
    for (;;) {
      try {
        const r = await send(method, route, body, key);
        // 503 STOCK_UNAVAILABLE is a final answer (nothing reserved); other 5xx are outages.
        if (r.status < 500 || r.body.code === 'STOCK_UNAVAILABLE' || Date.now() > until) return r;
      } catch (err) {
        if (Date.now() > until) throw err;
      }
      await sleep(1_000);
    }
  };

  const products = await (await send('GET', '/products')).body.items as { id: number; availableStock: number }[];
  const product = products[0]!;
  const attempts: Attempt[] = [];
  const loadEnds = Date.now() + LOAD_MS;
  let stopLoad = false;

  // Load: a few clients reserving, and cancelling every third reservation they got.
  const client = async (n: number) => {
    let i = 0;
    while (!stopLoad) {
      const a: Attempt = { key: `chaos-${n}-${i++}-${randomUUID()}`, status: 'error' };
      attempts.push(a);
      try {
        const r = await persist('POST', '/reservations', { productId: product.id, customer: { id: `chaos-${n}`, district: '중구' } }, a.key, loadEnds + 120_000);
        a.status = r.status;
        a.id = (r.body.id ?? r.body.reservationId) as string | undefined;
        if (r.status === 201 && i % 3 === 0) {
          const c = await persist('POST', `/reservations/${a.id}/cancel`, { reason: 'chaos' }, `${a.key}-cancel`, loadEnds + 120_000);
          a.cancel = c.status;
        }
      } catch {
        // counted as an error attempt
      }
      await sleep(100);
    }
  };
  const load = Promise.all(Array.from({ length: 4 }, (_, n) => client(n)));

  // Faults, spread over the load period.
  const at = (fraction: number) => sleep(Math.max(0, loadEnds - LOAD_MS + fraction * LOAD_MS - Date.now()));
  const faults = (async () => {
    await at(0.1);
    say('fault: SIGKILL the worker; restart it 2 s later');
    await stopPart('worker', 'SIGKILL');
    await sleep(2_000);
    await startPart('worker');
    await at(0.25);
    say('fault: stop the assignment service for 15 s');
    await stopPart('assignment', 'SIGTERM');
    await sleep(15_000);
    await startPart('assignment');
    await at(0.45);
    say('fault: restart the Temporal dev server (state persisted in SQLite)');
    await temporal.stop();
    await sleep(1_000);
    temporal = await startTemporalDevServer({ dataDir, port: ports.temporal, uiPort: ports.ui, sqlitePragmas: PRAGMAS });
    await at(0.65);
    say('fault: restart PostgreSQL');
    await pg.stop();
    await sleep(1_000);
    pg = await startEmbeddedPostgres({ dataDir, port: ports.pg });
    await at(0.8);
    say('fault: SIGKILL the worker again; restart it 1 s later');
    await stopPart('worker', 'SIGKILL');
    await sleep(1_000);
    await startPart('worker');
  })();
  await faults;
  await sleep(Math.max(0, loadEnds - Date.now()));
  stopLoad = true;
  await load;
  say(`load stopped: ${attempts.length} reservation attempts`);

  // Let everything settle: nothing may stay PENDING, ACCEPTED or CANCEL_REQUESTED.
  db = await openDatabase(pg.url);
  const settled = await waitUntil(async () => {
    const open = await db.selectFrom('reservations').select('id').where('status', 'in', ['PENDING', 'ACCEPTED', 'CANCEL_REQUESTED']).execute();
    return open.length === 0;
  }, 180_000, 1_000);

  const problems: string[] = [];
  if (!settled) problems.push('reservations still in flight 3 minutes after the load stopped');
  const rows = new Map((await db.selectFrom('reservations').select(['id', 'status']).execute()).map((r) => [r.id, r.status]));
  const counts: Record<string, number> = {};
  for (const a of attempts) {
    const key = a.status === 'error' ? 'error' : String(a.status);
    counts[key] = (counts[key] ?? 0) + 1;
    if (a.status === 'error' || !a.id) continue;
    const status = rows.get(a.id);
    const wanted = a.status === 409 ? 'REJECTED' : a.cancel === 202 ? 'CANCELLED' : a.status === 201 ? 'CONFIRMED' : undefined;
    if (!wanted) continue;
    if (status !== wanted) problems.push(`reservation ${a.id} (answered ${a.status}${a.cancel ? `, cancel ${a.cancel}` : ''}) is ${status ?? 'missing'}, not ${wanted}`);
  }
  // No duplicate: every reservation row belongs to exactly one attempt's key.
  const known = new Set(attempts.map((a) => a.id).filter(Boolean));
  const strays = [...rows.keys()].filter((id) => !known.has(id));
  if (strays.length > 0) problems.push(`${strays.length} reservation(s) no client asked for (duplicates): ${strays.slice(0, 5).join(', ')}`);
  const invariants = await checkInvariants(db);
  problems.push(...invariants.violations);
  await db.destroy();

  say(`answers: ${Object.entries(counts).map(([k, v]) => `${k}×${v}`).join(', ')}`);
  say(`final states: ${[...new Set(rows.values())].map((s) => `${s}×${[...rows.values()].filter((x) => x === s).length}`).join(', ')}`);
  if (problems.length === 0) say('every reservation is where its history says; all invariants hold');
  else for (const p of problems) say(`VIOLATION: ${p}`);
  return problems.length === 0;
}

async function teardown() {
  for (const name of [...children.keys()]) await stopPart(name, 'SIGTERM').catch(() => undefined);
  await temporal?.stop().catch(() => undefined);
  await pg?.stop().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}

// Ctrl-C or a SIGTERM stops every part it started (PostgreSQL and Temporal included), then exits.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything …`);
    void teardown().finally(() => process.exit(130));
  });
}

main()
  .then(async (ok) => {
    await teardown();
    process.exit(ok ? 0 : 1);
  })
  .catch(async (err) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    await teardown();
    process.exit(1);
  });
