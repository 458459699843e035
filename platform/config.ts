/** Configuration from environment variables, parsed once at process start. */
import path from 'node:path';
import ms, { type StringValue } from 'ms';
import { z } from 'zod';
import { parsePayloadKeys } from './payload-keys.js';
import { placeholderIn, secretProblem } from './secrets.js';
import { NOTIFIER_TASK_QUEUE, TASK_QUEUE } from '../shared/queues.js';
import { isLoopback } from './http.js';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A signing secret: no example's placeholder, 32 characters or more, not guessable. */
const secret = optionalString.superRefine((v, ctx) => {
  const problem = v === undefined ? undefined : secretProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
/** A credential that is not ours to generate (an API key, a URL's password) but must not be an example's. */
const noPlaceholder = (part: (v: string) => string = (v) => v) =>
  optionalString.superRefine((v, ctx) => {
    const marker = v === undefined ? undefined : placeholderIn(part(v));
    if (marker) ctx.addIssue({ code: 'custom', message: `holds the placeholder "${marker}": put the real value in` });
  });
/** A database URL's password (its host may well be called example). */
const passwordOf = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
};

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const parsed = ms(v as StringValue);
      if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration such as 30s, 10m, 7d` });
        return z.NEVER;
      }
      return parsed;
    });

/** `<writes>/<window>` (`10/1m`), or `off`. */
const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      if (v.trim() === 'off') return undefined;
      const [points, window] = v.split('/');
      const seconds = window ? ms(window.trim() as StringValue) / 1000 : NaN;
      if (!/^\d+$/.test(points?.trim() ?? '') || Number(points) < 1 || !Number.isFinite(seconds) || seconds < 1) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a limit such as 10/1m (or off)` });
        return z.NEVER;
      }
      return { points: Number(points), durationSeconds: Math.round(seconds) };
    });

const EnvSchema = z.object({
  DATA_DIR: z.string().default('./.data'),
  DATABASE_URL: noPlaceholder(passwordOf),
  // The owner of the tables, for the migrations and the invariant checks (both schemas); unset: DATABASE_URL.
  OWNER_DATABASE_URL: noPlaceholder(passwordOf),
  PG_PORT: port(5433),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().default('default'),
  // Payload encryption (platform/codec.ts): `<id>:<base64 of 32 bytes>[,…]`, the first encrypting,
  // the rest decrypting what older keys sealed. Unset: payloads are stored as plain JSON.
  // npm start's codec endpoint for the Web UI (with PAYLOAD_KEYS): PORT + 3 unless set.
  CODEC_HOST: z.string().default('127.0.0.1'),
  // The Web UI origins allowed to call the codec endpoint from the browser (start:codec; npm start knows its own).
  CODEC_UI_ORIGINS: z.string().default('http://localhost:8233').transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean)),
  // Lets a caller without a token open payloads when it is on this host and names it (Host), for the
  // dev server's Web UI, which has no login to pass. npm start turns it on; never with NODE_ENV=production.
  CODEC_TRUST_LOOPBACK: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  CODEC_PORT: optionalString.pipe(z.string().regex(/^\d+$/, 'a port number').transform(Number).pipe(z.number().int().min(1).max(65535)).optional()),
  PAYLOAD_KEYS: optionalString.pipe(
    z
      .string()
      .transform((spec, ctx) => {
        try {
          return parsePayloadKeys(spec);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
  ),
  // A Temporal cluster that wants more than an address (Temporal Cloud): an API key, or mutual TLS
  // with a client certificate and key (PEM files); TEMPORAL_TLS=1 for server TLS alone; the CA for a
  // private one. Unset: plain connection, as to the dev server.
  TEMPORAL_API_KEY: noPlaceholder(),
  TEMPORAL_TLS: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  TEMPORAL_TLS_CERT: optionalString,
  TEMPORAL_TLS_KEY: optionalString,
  TEMPORAL_TLS_CA: optionalString,
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_CLI_PATH: optionalString,
  // WAL with synchronous=normal survives any process crash; only an OS crash can lose the last commits.
  TEMPORAL_SQLITE_PRAGMAS: z.string().default('journal_mode=wal,synchronous=normal'),
  // More dynamic config for the dev server, `key=value` separated by commas: by default one partition
  // per task queue and no cap of 20 reads a second on the transfer queue, which took a new workflow
  // task 20–80 ms to reach a waiting worker (docs/performance.md). Empty: the dev server's defaults.
  TEMPORAL_DYNAMIC_CONFIG: z
    .string()
    .default('matching.numTaskqueueReadPartitions=1,matching.numTaskqueueWritePartitions=1,history.transferProcessorMaxPollRPS=1000'),
  TEMPORAL_TASK_QUEUE: z.string().default(TASK_QUEUE),
  // How the worker names itself in workflow histories (e.g. the pod name); unset: pid@host.
  WORKER_IDENTITY: optionalString,
  // A workflow bundle prebuilt by `npm run build:bundle` (the container image sets it); unset: bundle at start.
  WORKFLOW_BUNDLE_PATH: optionalString,
  // The same with the OpenTelemetry workflow interceptors (`npm run build:bundle -- --tracing`): used when tracing is on.
  WORKFLOW_TRACING_BUNDLE_PATH: optionalString,
  HOST: z.string().default('0.0.0.0'),
  PORT: port(8088),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  ASSIGNMENT_URL: optionalString,
  // The assignment service's own database role (docs/architecture.md, "The assignment boundary"):
  // only it may use the schema `assignment`. Unset: DATABASE_URL, in development and tests only;
  // with NODE_ENV=production the service refuses to start without it.
  ASSIGNMENT_DATABASE_URL: noPlaceholder(passwordOf),
  // The assignment service's /metrics (store load): unset, 9466 for `npm run start:assignment`,
  // PORT + 5 for `npm start`; 0, any free port; loopback unless told.
  ASSIGNMENT_METRICS_PORT: optionalString.pipe(z.string().regex(/^\d+$/, 'a port number').transform(Number).pipe(z.number().int().min(0).max(65535)).optional()),
  ASSIGNMENT_METRICS_HOST: z.string().default('127.0.0.1'),
  ASSIGNMENT_HOST: z.string().default('127.0.0.1'),
  ASSIGNMENT_PORT: port(8089),
  // What the worker and the API present to the assignment service, which refuses any call without it.
  // Unset: the dev stack's, in DATA_DIR/assignment-token (made on first use).
  ASSIGNMENT_TOKEN: secret,
  ASSIGNMENT_DEADLINE: duration('10m'),
  ASSIGNMENT_BREAKER_FAILURES: z.coerce.number().int().min(1).default(5),
  ASSIGNMENT_BREAKER_HALF_OPEN_AFTER: duration('5s'),
  // Launch-day admission: how long an admitted request's claim on its units outlives a crashed API or
  // worker, and how many units of one product may be decided at once before requests take a place
  // in line (the automatic admission rate is then the rate decisions complete).
  ADMISSION_LEASE: duration('10s'),
  ADMISSION_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(32),
  // The products' lines (docs/launch.md): a ticket not kept alive this long leaves the line at its turn;
  // how often the admitter looks, how many it admits per step, when an unfinished admission is taken up
  // again, how often each API process reads the lines and the catalogue, and the desk's chart samples.
  LINE_TICKET_LEASE: duration('2m'),
  LINE_TICK: duration('100ms'),
  LINE_MAX_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  LINE_RETRY_AFTER: duration('15s'),
  SALE_BOARD_EVERY: duration('500ms'),
  DESK_SAMPLE_EVERY: duration('5s'),
  // Write limits (`<writes>/<window>`, or `off`): per customer and per staff subject across every API
  // process, per client address in each (a flood guard: a carrier's NAT puts thousands behind one).
  RATE_LIMIT_CUSTOMER_WRITES: rateLimit('10/1m'),
  RATE_LIMIT_STAFF_WRITES: rateLimit('600/1m'),
  RATE_LIMIT_ADDRESS_WRITES: rateLimit('1200/1m'),
  EVENT_STREAMS_PER_TOKEN: z.coerce.number().int().min(1).max(100).default(3),
  EVENT_STREAMS_MAX: z.coerce.number().int().min(1).default(20_000),
  // Proxies trusted to say who the client is in X-Forwarded-For (proxy-addr: `loopback`, CIDRs); empty: none.
  TRUSTED_PROXIES: z.string().default('').transform((v) => v.split(',').map((p) => p.trim()).filter(Boolean)),
  // A customer reserves with a verified phone number from their identity (their messages go there).
  AUTH_REQUIRE_VERIFIED_PHONE: z.enum(['0', '1', 'true', 'false']).default('1').transform((v) => v === '1' || v === 'true'),
  // How long an API process keeps refusing a product it found with no stock at all without asking
  // the database again (0: ask every time); a unit given back is offered again at most this late.
  ADMISSION_SOLD_OUT_MEMORY: duration('250ms'),
  // Claims one API process writes at once (the rest wait in the process, not on pooled connections).
  ADMISSION_MAX_CLAIMS: z.coerce.number().int().min(1).max(1_000).default(4),
  // How often the reconciler's Schedule runs (0: the worker does not create it).
  RECONCILE_EVERY: duration('1m'),
  // How long a reservation's personal data is kept after it ends, and how often the retention
  // Schedule purges what is older (0: the worker does not create it).
  RETENTION_AFTER: duration('30d'),
  RETENTION_EVERY: duration('1d'),
  HOLD_PERIOD: duration('7d'),
  REMINDER_BEFORE: duration('1d'),
  // The Python notifier's task queue (notifier/): reservations started now call it there.
  NOTIFIER_TASK_QUEUE: z.string().default(NOTIFIER_TASK_QUEUE),
  // How often the drain's Schedule runs (0: the worker does not create it): it hands the notifier
  // the notifications no workflow will deliver (refusals at admission, the reconciler's endings).
  NOTIFY_DRAIN_EVERY: duration('1m'),
  // The web app's bundle (`npm run build:web`); the API builds it there if it is missing.
  WEB_DIR: z.string().default('dist/web'),
  // The development sign-in (POST /dev/login: a token for any demo identity). npm start turns it on;
  // never set it where real customers are.
  DEV_LOGIN: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  // "production" (the images set it) refuses the development sign-in.
  NODE_ENV: optionalString,
  // The workers' /metrics, comma-separated, where the launch desk reads their assignment breakers.
  WORKER_METRICS_URLS: z.string().default('').transform((v) => v.split(',').map((u) => u.trim()).filter(Boolean)),
  // Read by the notifier; here only so that `npm start` can say where messages go.
  KAKAO_API_URL: optionalString.pipe(z.url().optional()),
  JWT_SECRET: secret,
  // The longest lifetime (exp − iat) a token of each role may have; longer ones are refused.
  TOKEN_MAX_TTL_CUSTOMER: duration('24h'),
  TOKEN_MAX_TTL_STORE: duration('12h'),
  TOKEN_MAX_TTL_ADMIN: duration('1h'),
  // An identity provider whose RS256/ES256 tokens the API accepts beside its own HS256 ones.
  AUTH_JWKS_URL: optionalString.pipe(z.url().optional()),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_ROLE_CLAIM: z.string().default('role'),
  AUTH_STORE_CLAIM: z.string().default('store'),
  // Unset: 9464 for `npm run start:worker`, PORT + 2 for `npm start`.
  WORKER_METRICS_PORT: optionalString.pipe(z.string().regex(/^\d+$/, 'a port number').transform(Number).pipe(z.number().int().min(1).max(65535)).optional()),
  // Loopback unless told otherwise: a scraper on another host (compose's internal network) sets 0.0.0.0.
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  // The API's /metrics, on a port of its own that only the cluster's scraper reaches (never the
  // public port): unset, 9465 for `npm run start:api`, PORT + 4 for `npm start`; 0, any free port
  // (tests running several); loopback unless told.
  API_METRICS_PORT: optionalString.pipe(z.string().regex(/^\d+$/, 'a port number').transform(Number).pipe(z.number().int().min(0).max(65535)).optional()),
  API_METRICS_HOST: z.string().default('127.0.0.1'),
  // Tracing is off unless an OTLP/HTTP endpoint is given (spans go to <endpoint>/v1/traces).
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url().optional()),
  OTEL_SERVICE_NAME: optionalString,
}).refine((e) => !e.TEMPORAL_TLS_CERT === !e.TEMPORAL_TLS_KEY, {
  path: ['TEMPORAL_TLS_KEY'],
  message: 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its key)',
}).refine((e) => !e.AUTH_JWKS_URL || e.AUTH_ISSUER, {
  path: ['AUTH_ISSUER'],
  message: 'required with AUTH_JWKS_URL: the issuer its tokens must carry',
}).refine((e) => !e.AUTH_JWKS_URL || e.AUTH_AUDIENCE, {
  path: ['AUTH_AUDIENCE'],
  message: "required with AUTH_JWKS_URL: the audience naming this API (without it, a token the same provider made for another application is accepted)",
}).refine((e) => !e.AUTH_JWKS_URL || new URL(e.AUTH_JWKS_URL).protocol === 'https:' || isLoopbackUrl(e.AUTH_JWKS_URL), {
  path: ['AUTH_JWKS_URL'],
  message: 'must be https unless on this host: the keys that decide who is an admin cannot travel in clear',
});

/** Whether a URL's host is this host (localhost or a loopback address). */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || isLoopback(host);
}

export type Config = ReturnType<typeof parseConfig>;

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError with one readable line per bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (e.DEV_LOGIN && e.NODE_ENV === 'production') {
    throw new ConfigError('invalid configuration: DEV_LOGIN: the development sign-in gives anyone any token; it cannot be on with NODE_ENV=production');
  }
  if (e.CODEC_TRUST_LOOPBACK && e.NODE_ENV === 'production') {
    throw new ConfigError('invalid configuration: CODEC_TRUST_LOOPBACK: it opens payloads without a token; it cannot be on with NODE_ENV=production');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    dataDir,
    databaseUrl: e.DATABASE_URL,
    /** Who migrates and checks the invariants: the tables' owner (OWNER_DATABASE_URL), else DATABASE_URL. */
    ownerDatabaseUrl: e.OWNER_DATABASE_URL ?? e.DATABASE_URL,
    embeddedPostgresPort: e.PG_PORT,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      devServerPort: e.TEMPORAL_PORT,
      devServerUiPort: e.TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI_PATH,
      /** `name=value` pragmas for the dev server's SQLite file (docs/performance.md, "Settings that matter on launch day"). */
      sqlitePragmas: e.TEMPORAL_SQLITE_PRAGMAS.split(',').map((p) => p.trim()).filter(Boolean),
      /** `key=value` dynamic config added to the dev server's own. */
      devServerDynamicConfig: e.TEMPORAL_DYNAMIC_CONFIG.split(',').map((p) => p.trim()).filter(Boolean),
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      /** How to reach a cluster that asks for more than an address (see temporalConnection in platform/temporal.ts). */
      access: {
        apiKey: e.TEMPORAL_API_KEY,
        tls: e.TEMPORAL_TLS || e.TEMPORAL_API_KEY !== undefined || e.TEMPORAL_TLS_CERT !== undefined,
        certPath: e.TEMPORAL_TLS_CERT,
        keyPath: e.TEMPORAL_TLS_KEY,
        caPath: e.TEMPORAL_TLS_CA,
      },
      workerIdentity: e.WORKER_IDENTITY,
      payloadKeys: e.PAYLOAD_KEYS,
      /** Absolute path of a prebuilt workflow bundle for the worker, if any. */
      workflowBundlePath: e.WORKFLOW_BUNDLE_PATH ? path.resolve(e.WORKFLOW_BUNDLE_PATH) : undefined,
      /** The prebuilt bundle with tracing interceptors, for when tracing is on. */
      workflowTracingBundlePath: e.WORKFLOW_TRACING_BUNDLE_PATH ? path.resolve(e.WORKFLOW_TRACING_BUNDLE_PATH) : undefined,
    },
    http: { host: e.HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    assignment: {
      url: e.ASSIGNMENT_URL ?? `http://127.0.0.1:${e.ASSIGNMENT_PORT}`,
      host: e.ASSIGNMENT_HOST,
      port: e.ASSIGNMENT_PORT,
      token: e.ASSIGNMENT_TOKEN,
      /** The service's own role; DATABASE_URL stands in only outside production (undefined there when unset). */
      databaseUrl: e.ASSIGNMENT_DATABASE_URL ?? (e.NODE_ENV === 'production' ? undefined : e.DATABASE_URL),
      metrics: { host: e.ASSIGNMENT_METRICS_HOST, port: e.ASSIGNMENT_METRICS_PORT },
      breaker: { failures: e.ASSIGNMENT_BREAKER_FAILURES, halfOpenAfterMs: e.ASSIGNMENT_BREAKER_HALF_OPEN_AFTER },
    },
    admission: {
      leaseMs: e.ADMISSION_LEASE,
      maxInFlight: e.ADMISSION_MAX_IN_FLIGHT,
      soldOutMemoryMs: e.ADMISSION_SOLD_OUT_MEMORY,
      maxClaims: e.ADMISSION_MAX_CLAIMS,
    },
    line: {
      leaseMs: e.LINE_TICKET_LEASE,
      tickMs: Math.max(10, e.LINE_TICK),
      maxBatch: e.LINE_MAX_BATCH,
      retryAfterMs: e.LINE_RETRY_AFTER,
      boardEveryMs: Math.max(50, e.SALE_BOARD_EVERY),
      sampleEveryMs: Math.max(1_000, e.DESK_SAMPLE_EVERY),
    },
    rateLimits: {
      customerWrites: e.RATE_LIMIT_CUSTOMER_WRITES,
      staffWrites: e.RATE_LIMIT_STAFF_WRITES,
      addressWrites: e.RATE_LIMIT_ADDRESS_WRITES,
      streamsPerToken: e.EVENT_STREAMS_PER_TOKEN,
      streamsInAll: e.EVENT_STREAMS_MAX,
    },
    trustedProxies: e.TRUSTED_PROXIES,
    requireVerifiedPhone: e.AUTH_REQUIRE_VERIFIED_PHONE,
    /** Fixed into each reservation when it starts. */
    policy: {
      assignmentDeadlineMs: e.ASSIGNMENT_DEADLINE,
      holdPeriodMs: e.HOLD_PERIOD,
      reminderBeforeMs: Math.min(e.REMINDER_BEFORE, e.HOLD_PERIOD),
    },
    /** The reconciler's Schedule interval; 0: not created by this worker. */
    reconcileEveryMs: e.RECONCILE_EVERY,
    retention: { afterMs: e.RETENTION_AFTER, everyMs: e.RETENTION_EVERY },
    web: { dir: path.resolve(e.WEB_DIR), devLogin: e.DEV_LOGIN, workerMetricsUrls: e.WORKER_METRICS_URLS },
    notifier: { taskQueue: e.NOTIFIER_TASK_QUEUE, drainEveryMs: e.NOTIFY_DRAIN_EVERY, kakaoUrl: e.KAKAO_API_URL },
    jwtSecret: e.JWT_SECRET,
    codec: { host: e.CODEC_HOST, port: e.CODEC_PORT, uiOrigins: e.CODEC_UI_ORIGINS, trustLoopback: e.CODEC_TRUST_LOOPBACK },
    identityProvider: e.AUTH_JWKS_URL
      ? {
          url: e.AUTH_JWKS_URL,
          issuer: e.AUTH_ISSUER!,
          audience: e.AUTH_AUDIENCE!,
          claims: { role: e.AUTH_ROLE_CLAIM, store: e.AUTH_STORE_CLAIM },
        }
      : undefined,
    tokenMaxTtlSeconds: {
      customer: Math.floor(e.TOKEN_MAX_TTL_CUSTOMER / 1000),
      store: Math.floor(e.TOKEN_MAX_TTL_STORE / 1000),
      admin: Math.floor(e.TOKEN_MAX_TTL_ADMIN / 1000),
    },
    /** The worker's Prometheus endpoint; `port` undefined means the launcher's default. */
    workerMetrics: { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
    apiMetrics: { host: e.API_METRICS_HOST, port: e.API_METRICS_PORT },
    /** OpenTelemetry tracing, on when `otlpEndpoint` is set. */
    tracing: { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
  };
}

/** The variables that must be set for a part that runs alone (API, worker) in a real deployment. */
export function requireServices(config: Config): { databaseUrl: string; temporalAddress: string } {
  const missing = [
    config.databaseUrl ? undefined : 'DATABASE_URL',
    config.temporal.address ? undefined : 'TEMPORAL_ADDRESS',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new ConfigError(
      `${missing.join(' and ')} must be set (run "npm run start:infra" for a local PostgreSQL and Temporal)`,
    );
  }
  return { databaseUrl: config.databaseUrl!, temporalAddress: config.temporal.address! };
}
