import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import proto from '@temporalio/proto';
import { pingDb } from '../../db/client.js';
import type { AppEnv } from '../auth.js';
import type { AppDeps } from '../deps.js';
import type { RevocationList } from '../revocations.js';

const POLLER_FRESH_MS = 90_000;

const CheckSchema = z.object({ ok: z.boolean(), detail: z.string().optional() });
const ReadySchema = z
  .object({
    status: z.enum(['ready', 'not ready']),
    checks: z.object({
      database: CheckSchema,
      temporal: CheckSchema,
      worker: CheckSchema,
      notifier: CheckSchema.openapi({
        description: "Whether the notifier polls its task queue. Not needed to serve: without it the customer's messages wait, and nothing else does",
      }),
      revocations: CheckSchema.openapi({
        description: 'Whether the list of revoked tokens was read lately (within 30 s); until it is, no token is accepted',
      }),
    }),
  })
  .openapi('Readiness');

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);

/**
 * Runs one readiness check. The probe is public: a failure answers with `failure` (fixed words)
 * while the error itself (addresses, queue names, driver text) goes to the log only.
 */
async function check(name: string, fn: () => Promise<string | void>, failure: string, log: AppDeps['log']) {
  try {
    const detail = await withTimeout(fn(), 2_000);
    return detail ? { ok: true, detail } : { ok: true };
  } catch (err) {
    log.warn('readiness check failed', { check: name, error: err });
    return { ok: false, detail: failure };
  }
}

/** How many workers polled `taskQueue` for tasks of `type` lately; throws when none did. */
async function recentPollers(deps: AppDeps, taskQueue: string, type: 'workflow' | 'activity'): Promise<string> {
  const { TaskQueueType } = proto.temporal.api.enums.v1;
  const res = await deps.temporal.workflowService.describeTaskQueue({
    namespace: deps.temporal.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: type === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  // The server remembers pollers for minutes; only a recent poll (long polls last ~60 s) counts.
  const recent = Date.now() - POLLER_FRESH_MS;
  const pollers = (res.pollers ?? []).filter((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= recent).length;
  if (pollers === 0) throw new Error(`no worker is polling task queue ${taskQueue}`);
  return `${pollers} poller(s)`;
}

/** How long one readiness answer is served again: the probe is public, and each check costs a query and three Temporal calls. */
export const READY_CACHE_MS = 1_000;

/**
 * The readiness checks, run at most once per `cacheMs` whatever the number of callers: concurrent
 * probes share the run in flight, later ones its answer until it is `cacheMs` old.
 * Hand-written: a single-flight of one value, smaller than a caching library's setup.
 */
function cachedReadiness(deps: AppDeps, revocations: RevocationList, cacheMs: number) {
  let last: { at: number; answer: Promise<Readiness> } | undefined;
  const run = async (): Promise<Readiness> => {
    const [database, temporalCheck, worker, notifier] = await Promise.all([
      check('database', () => pingDb(deps.db), 'unreachable', deps.log),
      check(
        'temporal',
        async () => {
          await deps.temporal.workflowService.getSystemInfo({});
        },
        'unreachable',
        deps.log,
      ),
      check('worker', () => recentPollers(deps, deps.taskQueue, 'workflow'), 'no worker polling', deps.log),
      check('notifier', () => recentPollers(deps, deps.notifierTaskQueue, 'activity'), 'no notifier polling: customer messages wait', deps.log),
    ]);
    // An idle process read the list last at its start: the probe starts a read and waits for it (2 s at most).
    const tokens = (await revocations.ready()) ? { ok: true } : { ok: false, detail: 'revoked tokens not read lately' };
    // The notifier is reported, not required: reservations never wait for it.
    const ok = database.ok && temporalCheck.ok && worker.ok && tokens.ok;
    return { ok, body: { status: ok ? 'ready' : 'not ready', checks: { database, temporal: temporalCheck, worker, notifier, revocations: tokens } } };
  };
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= cacheMs) last = { at: now, answer: run() };
    return last.answer;
  };
}
type Readiness = { ok: boolean; body: z.infer<typeof ReadySchema> };

/** Liveness and readiness probes (public). */
export function healthRoutes(deps: AppDeps, revocations: RevocationList, cacheMs = READY_CACHE_MS) {
  const app = new OpenAPIHono<AppEnv>();
  const readiness = cachedReadiness(deps, revocations, cacheMs);

  /** Liveness: the process is up. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['health'],
      security: [],
      summary: 'Liveness',
      responses: { 200: { description: 'The process is up', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  /** Readiness: database and Temporal reachable, a worker polling the task queue, revoked tokens read lately; says whether the notifier polls. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['health'],
      security: [],
      summary: 'Readiness',
      responses: {
        200: { description: 'Ready to serve', content: { 'application/json': { schema: ReadySchema } } },
        503: { description: 'A dependency is missing', content: { 'application/json': { schema: ReadySchema } } },
      },
    }),
    async (c) => {
      const { ok, body } = await readiness();
      return ok ? c.json(body, 200) : c.json(body, 503);
    },
  );
  return app;
}
