import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import proto from '@temporalio/proto';
import { pingDb } from '../../db/client.js';
import type { AppEnv } from '../auth.js';
import type { AppDeps } from '../deps.js';

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

/** Liveness and readiness probes (public). */
export function healthRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

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

  /** Readiness: database and Temporal reachable, and a worker polling the task queue; says whether the notifier polls. */
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
      // The notifier is reported, not required: reservations never wait for it.
      const ok = database.ok && temporalCheck.ok && worker.ok;
      const body = { status: ok ? ('ready' as const) : ('not ready' as const), checks: { database, temporal: temporalCheck, worker, notifier } };
      return ok ? c.json(body, 200) : c.json(body, 503);
    },
  );
  return app;
}
