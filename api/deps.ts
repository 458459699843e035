import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Role } from '../shared/auth.js';
import type { JwksOptions } from '../shared/jwks.js';
import type { ReservationPolicy } from '../shared/contract.js';
import type { Logger } from '../shared/log.js';

/** What the HTTP API needs; tests build their own. */
export interface AppDeps {
  db: Kysely<Database>;
  temporal: Client;
  taskQueue: string;
  /** Time limits given to each new reservation. */
  policy: ReservationPolicy;
  /** Where each new reservation's workflow has the notifier tell the customer (NOTIFIER_TASK_QUEUE). */
  notifierTaskQueue: string;
  log: Logger;
  /** HS256 key for bearer tokens. */
  authSecret: string;
  /** The longest lifetime a token of each role may have (defaults: customer 24 h, store staff 12 h, admin 1 h). */
  tokenMaxTtlSeconds?: Record<Role, number>;
  /** An external identity provider whose RS256/ES256 tokens are accepted too (verified with its JWKS). */
  identityProvider?: JwksOptions;
  /** How long a reserve request waits for the stock decision before answering 503 DECISION_PENDING (40 s). */
  decisionDeadlineMs?: number;
  /** Launch-day admission (defaults: a 10 s lease, Retry-After 1 s). */
  admission?: AdmissionPolicy;
  /** The web app: its built bundle (web/build/esbuild.ts), and whether the development sign-in is on. */
  web?: { dir: string; devLogin: boolean };
  /** The workers' /metrics, where the launch desk reads their assignment breakers (WORKER_METRICS_URLS). */
  workerMetricsUrls?: string[];
}

export interface AdmissionPolicy {
  /** How long an admitted request's claim holds its units if its decision never comes (a crashed API or worker). */
  leaseMs: number;
  /** What a customer is told to wait, in seconds, while every unit left is held by decisions in flight. */
  retryAfterSeconds: number;
  /**
   * How long this process remembers a product it found with no stock at all, refusing requests for
   * it without asking the database again; a unit given back is offered again at most this much later.
   */
  soldOutMemoryMs: number;
}
