/**
 * Request metrics and the access log of the API: one Prometheus registry per app (the tests build
 * several apps in one process), counted by route pattern (`/reservations/:id`, never the raw path),
 * method and status, plus Node process metrics; and one JSON log line per request.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { RESERVATION_ID_PATTERN } from '../app/reservation/contract.js';
import type { Logger } from '../platform/log.js';
import type { AppEnv } from './auth.js';

/** Where the metrics port answers (never on the public port: it would tell anyone the launch's traffic). */
export const METRICS_PATH = '/metrics';
/** The route label of requests no route matched (404s for unknown paths). */
const UNMATCHED_ROUTE = 'unmatched';
// Probes and scrapes run every few seconds, and so does every waiting page's poll of its place in
// line (a launch's hundred thousand of them): logged at debug only, unless they fail.
const QUIET_PATHS = new Set(['/healthz', '/readyz', METRICS_PATH]);
const QUIET_ROUTES = new Set(['GET /tickets/:id', 'GET /products', 'GET /products/:id']);

/** A fresh registry with the API's request counter and latency histogram and the process metrics. */
export function createHttpMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'tshop_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tshop_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    /** Counts one answered request. */
    observe(method: string, route: string, status: number, seconds: number) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}
export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

/** The pattern of the route that answered (`/reservations/:id`), or `unmatched`. */
function routeOf(c: Context): string {
  // Middleware is registered for every method ("ALL"); the last specific match is the endpoint.
  const endpoint = matchedRoutes(c)
    .filter((r) => r.method !== 'ALL')
    .at(-1);
  return endpoint?.path ?? UNMATCHED_ROUTE;
}

/** The reservation a request is about: set by the handler (a new one), or the `:id` of a reservation route. */
function reservationOf(c: Context<AppEnv>, route: string): string | undefined {
  const set = c.get('reservationId');
  if (set) return set;
  if (!route.startsWith('/reservations/:id')) return undefined;
  const id = c.req.path.split('/')[2];
  return id && RESERVATION_ID_PATTERN.test(id) ? id : undefined;
}

/**
 * Middleware (register it first): times every request, counts it (except scrapes of /metrics) and
 * logs one line with method, route, status, ms and the reservationId when there is one.
 */
export function observeRequests(metrics: HttpMetrics, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const elapsed = performance.now() - started;
    const route = routeOf(c);
    const status = c.res.status;
    if (c.req.path !== METRICS_PATH) metrics.observe(c.req.method, route, status, elapsed / 1000);
    const reservationId = reservationOf(c, route);
    const fields = {
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      ms: Math.round(elapsed),
      ...(reservationId ? { reservationId } : {}),
    };
    const quiet = QUIET_PATHS.has(c.req.path) || (status < 400 && QUIET_ROUTES.has(`${c.req.method} ${route}`));
    if (quiet) log.debug('request', fields);
    else log.info('request', fields);
  };
}

/** The metrics port's app: `GET /metrics` in Prometheus text format, nothing else. */
export function metricsApp(metrics: HttpMetrics) {
  const app = new Hono();
  app.get(METRICS_PATH, async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
  return app;
}
