/** bench:compare's command line: which two variants, what to measure, how much. */
import { parseArgs } from 'node:util';
import { TEMPORAL_KINDS, type TemporalKind } from '../stack.js';
import type { Side } from './variant.js';

const SCENARIOS = ['cost', 'seed', 'burst', 'knee', 'launch'];

export const USAGE = `usage: npm run bench:compare -- [--base <git-ref>] [--head <git-ref>] [--base-env KEY=VALUE]… [--env KEY=VALUE]…
       [--temporal dev|server|dev,server] [--label <name>] [--runs 4] [--cost-n 160] [--scenarios cost,seed,burst,knee]
       [--requests 2000] [--concurrency 48] [--seed-seconds 10] [--step-seconds 4] [--launch-customers 10000] [--port-base N]`;

export interface CompareArgs {
  /** A's code; this checkout when unset. */
  base?: string;
  /** B's code; this checkout when unset (a lever of the past: --base its parent, --head it). */
  head?: string;
  label?: string;
  /** Added to every process of A (--base-env) and of B (--env). */
  envs: Record<Side, Record<string, string>>;
  /** Which Temporal each side runs (--temporal A,B, or one kind for both). */
  temporal: Record<Side, TemporalKind>;
  /** Where the two stacks' ports start (A at it, B 50 above), instead of the fixed COMPARE_PORTS. */
  portBase?: number;
  settings: {
    runs: number;
    cost_per_batch: number;
    cost_concurrency: number;
    scenarios: string[];
    requests: number;
    burst_clients: number;
    seed_check_seconds: number;
    /** Seconds per rate of the sustained-rate scenario (`knee`). */
    step_seconds: number;
    /** Customers per launch day of the launch scenario (lottery; A, B, B, A). */
    launch_customers: number;
  };
}

/** The parsed command line; throws with a one-line reason for anything it cannot use. */
export function readArgs(argv: string[]): CompareArgs {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      'base-env': { type: 'string', multiple: true, default: [] },
      env: { type: 'string', multiple: true, default: [] },
      label: { type: 'string' },
      runs: { type: 'string', default: '4' },
      'cost-n': { type: 'string', default: '160' },
      scenarios: { type: 'string', default: 'cost' },
      requests: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '48' },
      'seed-seconds': { type: 'string', default: '10' },
      'step-seconds': { type: 'string', default: '4' },
      temporal: { type: 'string', default: 'dev' },
      'port-base': { type: 'string' },
      'launch-customers': { type: 'string', default: '10000' },
    },
  });
  const scenarios = a.scenarios!.split(',').map((s) => s.trim()).filter(Boolean);
  if (scenarios.length === 0 || scenarios.some((s) => !SCENARIOS.includes(s))) throw new Error(`--scenarios ${a.scenarios}: one or more of ${SCENARIOS.join(', ')}`);
  const kinds = a.temporal!.split(',').map((s) => s.trim());
  if (kinds.length < 1 || kinds.length > 2 || kinds.some((k) => !(TEMPORAL_KINDS as readonly string[]).includes(k))) {
    throw new Error(`--temporal ${a.temporal}: one of ${TEMPORAL_KINDS.join(', ')} for both sides, or two separated by a comma (A,B)`);
  }
  const [kindA, kindB] = kinds as [TemporalKind, TemporalKind | undefined];
  if (a.label !== undefined && !/^[\w.-]+$/.test(a.label)) throw new Error(`--label ${a.label}: letters, digits, '.', '_' and '-' only (it names a file)`);
  return {
    base: a.base,
    head: a.head,
    label: a.label,
    envs: { A: envOf(a['base-env']!, '--base-env'), B: envOf(a.env!, '--env') },
    temporal: { A: kindA, B: kindB ?? kindA },
    ...(a['port-base'] !== undefined ? { portBase: portBase(a['port-base']) } : {}),
    settings: {
      runs: positive(a.runs!, '--runs'),
      cost_per_batch: positive(a['cost-n']!, '--cost-n'),
      cost_concurrency: 16,
      scenarios,
      requests: positive(a.requests!, '--requests'),
      burst_clients: positive(a.concurrency!, '--concurrency'),
      seed_check_seconds: positive(a['seed-seconds']!, '--seed-seconds'),
      step_seconds: positive(a['step-seconds']!, '--step-seconds'),
      launch_customers: positive(a['launch-customers']!, '--launch-customers'),
    },
  };
}

/** KEY=VALUE pairs of --env / --base-env. */
function envOf(pairs: string[], flag: string): Record<string, string> {
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at <= 0) throw new Error(`${flag} ${p}: expected KEY=VALUE`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
}

/** Both stacks' ports, base … base + 67 (bench/stack.ts portsFrom), must be ports a user may listen on. */
function portBase(text: string): number {
  const n = positive(text, '--port-base');
  if (n < 1024 || n + 67 > 65535) throw new Error(`--port-base ${text}: expected 1024–65468`);
  return n;
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} ${text}: expected a positive whole number`);
  return n;
}
