import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Role } from '../platform/auth.js';
import type { JwksOptions } from '../platform/jwks.js';
import type { ReservationPolicy } from '../app/reservation/contract.js';
import type { Logger } from '../platform/log.js';
import type { AssignmentClient } from '../app/assignment/client.js';

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
  /** The assignment service's API: stores and their load are its, never read from the database here. */
  assignment: AssignmentClient;
  /** HS256 key for bearer tokens. */
  authSecret: string;
  /** The longest lifetime a token of each role may have (defaults: customer 24 h, store staff 12 h, admin 1 h). */
  tokenMaxTtlSeconds?: Record<Role, number>;
  /** An external identity provider whose RS256/ES256 tokens are accepted too (verified with its JWKS). */
  identityProvider?: JwksOptions;
  /** How long a reserve request waits for the stock decision before answering 503 DECISION_PENDING (40 s). */
  decisionDeadlineMs?: number;
  /** Launch-day admission (defaults: a 10 s lease, 32 units decided at once). */
  admission?: AdmissionPolicy;
  /** The products' lines (defaults: LINE_* in platform/config.ts). */
  line?: LinePolicy;
  /** Write limits per customer and per client address; undefined: none (tests that do not test them). */
  rateLimits?: RateLimitPolicy;
  /** Whether a customer needs a verified phone number (their token's) to reserve or join a line (true). */
  requireVerifiedPhone?: boolean;
  /** Who may set X-Forwarded-For (proxy-addr's trust list); empty: the connection's own address. */
  trustedProxies?: string[];
  /** The web app: its built bundle (web/build/esbuild.ts), and whether the development sign-in is on. */
  web?: { dir: string; devLogin: boolean };
  /** The workers' /metrics, where the launch desk reads their assignment breakers (WORKER_METRICS_URLS). */
  workerMetricsUrls?: string[];
}

export interface AdmissionPolicy {
  /** How long an admitted request's claim holds its units if its decision never comes (a crashed API or worker). */
  leaseMs: number;
  /**
   * Units of one product being decided at once, at most: a request beyond it takes a place in line,
   * and the line admits as fast as decisions complete (the automatic admission rate).
   */
  maxInFlight: number;
  /**
   * How long this process remembers a product it found with no stock at all, refusing requests for
   * it without asking the database again; a unit given back is offered again at most this much later.
   */
  soldOutMemoryMs: number;
  /**
   * Claims this process writes at once (4 when unset): claims on one product wait for each other on
   * its row, and each waiting claim holds a pooled connection that joins, polls and limits need.
   */
  maxClaims?: number;
}

export interface LinePolicy {
  /** A ticket not kept alive (a poll, an open event stream) for this long leaves the line when its turn comes. */
  leaseMs: number;
  /** How often the admitter looks at the lines. */
  tickMs: number;
  /** Tickets admitted by one step, at most. */
  maxBatch: number;
  /** An admitted ticket whose admission no process finished within this is taken up again. */
  retryAfterMs: number;
  /** How often the sale board reads the lines and the catalogue (the catalogue is never older than twice this). */
  boardEveryMs: number;
  /** How often the desk's chart sample is taken. */
  sampleEveryMs: number;
}

export interface RateLimit {
  points: number;
  durationSeconds: number;
}

export interface RateLimitPolicy {
  /** Writes per customer token subject, shared by every API process (PostgreSQL); undefined: off. */
  customerWrites: RateLimit | undefined;
  /** Writes per store-staff or admin subject; undefined: off. */
  staffWrites: RateLimit | undefined;
  /** Writes per client address, per API process: a flood guard (a carrier's NAT puts thousands behind one address); undefined: off. */
  addressWrites: RateLimit | undefined;
  /** Open event streams per token, and in all per process. */
  streamsPerToken: number;
  streamsInAll: number;
}
