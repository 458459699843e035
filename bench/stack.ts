/**
 * The stack the bench measures, started by dev/stack.ts: every part its own process in its own
 * process group (so that each one's CPU and memory can be read from /proc, and a terminal's Ctrl-C
 * reaches only the bench), the migrations run by the checkout's own `migrate --seed`, logs at
 * `error`, holds long enough never to expire during a run. With `temporal: 'server'` the real
 * Temporal server runs instead of the dev server, on an embedded PostgreSQL of its own, so that
 * Temporal's database is measured apart from the application's.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PARTS, startStack, type Ports, type TemporalDescription, type TemporalKind } from '../dev/stack.js';
import type { Roots } from './procfs.js';

export { portsFrom, TEMPORAL_KINDS, type Ports, type TemporalDescription, type TemporalKind } from '../dev/stack.js';

/** The bench's own ports; no test uses them. */
export const PORTS: Ports = {
  api: 18188,
  assignment: 18189,
  assignmentMetrics: 18191,
  workerMetrics: 18190,
  pg: 25462,
  temporal: 17263,
  temporalUi: 18263,
  temporalPg: 25465,
  temporalInternal: 17280,
  temporalMembership: 17284,
};

export interface Stack {
  baseUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  jwtSecret: string;
  temporal: TemporalDescription;
  /** The process trees to measure: every part, and this process as the load generator. */
  roots: Roots;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The checkout whose code runs (bench:compare's base, or this one). */
  root: string;
  dataDir: string;
  say: (line: string) => void;
  /** Called as soon as there is something to stop, so an interrupt during start-up stops it too. */
  onStoppable: (stop: () => Promise<void>) => void;
  /** Where it listens; PORTS unless given (bench:compare runs two stacks side by side). */
  ports?: Ports;
  /** Added to every part's environment (a configuration under comparison); its data directory, secret, ports and URLs still win. */
  env?: Record<string, string>;
  /**
   * 'server': the real Temporal server, configured by the variables of `env` it knows
   * (dev/temporal-server.ts: NUM_HISTORY_SHARDS, SQL_MAX_CONNS, …, TEMPORAL_SERVER_DYNAMIC_CONFIG).
   * Default 'dev' (or TEMPORAL_ADDRESS's server, when set).
   */
  temporal?: TemporalKind;
}

export async function startBenchStack(o: StackOptions): Promise<Stack> {
  const jwtSecret = o.env?.JWT_SECRET ?? process.env.JWT_SECRET ?? randomBytes(32).toString('hex');
  // A checkout from before the Python notifier (bench:compare --base) has none.
  const hasNotifier = existsSync(path.join(o.root, 'notifier'));
  const external = o.temporal !== 'server' && process.env.TEMPORAL_ADDRESS ? { address: process.env.TEMPORAL_ADDRESS } : undefined;
  o.say(`starting the stack (${o.temporal === 'server' ? 'the Temporal server' : external ? `Temporal at ${external.address}` : 'the Temporal dev server'}) …`);
  const stack = await startStack({
    root: o.root,
    dataDir: o.dataDir,
    ports: o.ports ?? PORTS,
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    temporal: external ?? o.temporal ?? 'dev',
    parts: PARTS.filter((p) => p !== 'migrate' && (hasNotifier || p !== 'notifier')),
    migrate: true,
    env: { LOG_LEVEL: 'error', HOLD_PERIOD: '7d', ...o.env, JWT_SECRET: jwtSecret },
    ownGroups: true,
    say: o.say,
    onStoppable: o.onStoppable,
  });
  return {
    baseUrl: stack.apiUrl,
    databaseUrl: stack.databaseUrl,
    temporalAddress: stack.temporalAddress,
    jwtSecret,
    temporal: stack.temporal,
    roots: { ...stack.roots(), 'load generator': process.pid },
    stop: stack.stop,
  };
}
