/**
 * One side of a comparison: a checkout and an environment, run as its own full stack (bench/stack.ts)
 * on its own ports and data directory, with the scenario context the bench's scenarios expect.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { openDatabase } from '../../db/open.js';
import { trackChild } from '../../platform/process.js';
import type { Ctx } from '../context.js';
import { apiFor } from '../http.js';
import type { Roots } from '../procfs.js';
import { entryIn } from '../../dev/stack.js';
import { portsFrom, startBenchStack, type Ports, type Stack, type TemporalKind } from '../stack.js';
import type { Checkout } from './checkout.js';

export type Side = 'A' | 'B';

/**
 * Two port sets that neither the tests, nor `npm run bench` (18188…, 25462, 17263), nor the memory
 * helper (28388…, 25443, 27243, 28243) use, so a comparison can run beside any of them.
 */
export const COMPARE_PORTS: Record<Side, Ports> = {
  A: { api: 28401, assignment: 28402, assignmentMetrics: 28404, workerMetrics: 28403, pg: 24401, temporal: 28433, temporalUi: 28434, temporalPg: 24402, temporalInternal: 28440, temporalMembership: 28444 },
  B: { api: 28501, assignment: 28502, assignmentMetrics: 28504, workerMetrics: 28503, pg: 24501, temporal: 28533, temporalUi: 28534, temporalPg: 24502, temporalInternal: 28540, temporalMembership: 28544 },
};

/** The two sides' ports: COMPARE_PORTS, or laid out from `--port-base` (A at it, B 50 above). */
export function comparePorts(base: number | undefined): Record<Side, Ports> {
  return base === undefined ? COMPARE_PORTS : { A: portsFrom(base), B: portsFrom(base + 50) };
}

export interface VariantSpec {
  side: Side;
  /** "without" (A) or "with" (B). */
  role: string;
  checkout: Checkout;
  /** Added to every process of this side (a started variant's includes STACK_ENV). */
  env: Record<string, string>;
  /** The dev server or the real Temporal server (which reads its settings from `env`). */
  temporal: TemporalKind;
  ports: Ports;
}

export interface Variant extends VariantSpec {
  stack: Stack;
  ctx: Ctx;
}

export interface VariantHooks {
  progress(line: string): void;
  done(line: string): void;
  /** Processes to stop on the way out (registered as soon as they exist). */
  onStoppable(stop: () => Promise<void>): void;
  /** Connections to close after a normal end, and directories to remove at any end. */
  onResource(close: () => Promise<void> | void): void;
  onCleanup(remove: () => void): void;
}

/**
 * What every side's stack runs with, as `npm run bench`'s does (cmd/bench.ts): the load comes from
 * 127.0.0.1 and the cost and burst reserve as one admin standing for many store staff, so the
 * per-address and per-staff write limits would measure themselves. The per-customer limit stays on.
 * A checkout from before the limits ignores them. --base-env / --env may still set them.
 */
export const STACK_ENV: Record<string, string> = { RATE_LIMIT_ADDRESS_WRITES: 'off', RATE_LIMIT_STAFF_WRITES: 'off' };

/** Starts the side's stack and opens what the scenarios use: the API, its database, a Temporal client. */
export async function startVariant(given: VariantSpec, hooks: VariantHooks): Promise<Variant> {
  const spec = { ...given, env: { ...STACK_ENV, ...given.env } };
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `tshop-compare-${spec.side}-`));
  hooks.onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const say = (line: string) => hooks.done(`${spec.side}: ${line}`);
  const stack = await startBenchStack({ root: spec.checkout.dir, dataDir, say, onStoppable: hooks.onStoppable, ports: spec.ports, env: spec.env, temporal: spec.temporal });
  const db = await openDatabase(stack.databaseUrl, { max: 20 });
  hooks.onResource(() => db.destroy());
  const connection = await Connection.connect({ address: stack.temporalAddress });
  hooks.onResource(() => connection.close());
  const api = await apiFor(stack.baseUrl, stack.jwtSecret);
  // Stores sized for the run, as in `npm run bench`: it measures the service, not a full city.
  for (const s of (await api.admin('GET', '/stores')).body.items as { id: string }[]) await api.admin('PATCH', `/stores/${s.id}`, { capacity: 100_000 });
  const ctx: Ctx = {
    api,
    db,
    client: new Client({ connection }),
    // No baseline workflows run in a comparison: nothing polls or uses this queue.
    baselineQueue: '',
    roots: stack.roots,
    statusSearchAttribute: await hasStatusSearchAttribute(connection),
    quick: false,
    progress: (line) => hooks.progress(`${spec.side}: ${line}`),
    done: (line) => hooks.done(`${spec.side}: ${line}`),
  };
  return { ...spec, stack, ctx };
}

async function hasStatusSearchAttribute(connection: Connection): Promise<boolean> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
  return ['ReservationStatus', 'ProductId'].every((name) => customAttributes?.[name] !== undefined);
}

/** Prefix of the other side's trees in a side's roots. */
export const OTHER = 'other side: ';

/**
 * Gives each side's context the other side's trees too, under OTHER. Every process of both stacks
 * descends from this process (the load generator's root): without its own root, an idle process of
 * the other stack would be counted as load generator.
 */
export function crossRoots(a: Variant, b: Variant): void {
  const other = (roots: Roots) =>
    Object.fromEntries(Object.entries(roots).filter(([name]) => name !== 'load generator').map(([name, pid]) => [`${OTHER}${name}`, pid]));
  a.ctx.roots = { ...a.stack.roots, ...other(b.stack.roots) };
  b.ctx.roots = { ...b.stack.roots, ...other(a.stack.roots) };
}

/**
 * The side's own invariant check (`cmd/check-invariants.ts` — `db/check.ts` in older commits — of its checkout, which knows its schema), run against
 * its database: the violations, or why the check could not run.
 */
export function invariantsOf(v: Variant): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(v.checkout.dir, entryIn(v.checkout.dir, 'cmd/check-invariants.ts', 'db/check.ts'))], {
    cwd: v.checkout.dir,
    env: { ...process.env, ...v.env, DATABASE_URL: v.stack.databaseUrl, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const untrack = trackChild(child.pid!);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      untrack();
      const violations = out.split('\n').filter((l) => l.startsWith('violation: ')).map((l) => l.slice('violation: '.length));
      resolve(code === 0 ? [] : violations.length > 0 ? violations : [`the invariant check failed (${code}): ${out.slice(-2_000)}`]);
    }),
  );
}
