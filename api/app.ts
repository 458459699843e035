/** The HTTP API: routers per resource, problem+json errors, request logging. */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { authenticate, type AppEnv } from './auth.js';
import type { AppDeps } from './deps.js';
import { Problem, problemResponse, toProblem, validationHook } from './errors.js';
import { createHttpMetrics, metricsApp, observeRequests } from './metrics.js';
import { healthRoutes } from './routes/health.js';
import { docsRoutes } from './routes/docs.js';
import { productRoutes } from '../app/product/routes.js';
import { reservationRoutes } from '../app/reservation/routes.js';
import { storeRoutes } from '../app/assignment/routes.js';
import { tokenRoutes } from './routes/tokens.js';
import { devRoutes } from './routes/dev.js';
import { eventRoutes } from '../app/reservation/events.js';
import { launchDeskRoutes } from '../app/launch/desk-routes.js';
import { webRoutes } from './routes/web.js';
import { createReservationFeed } from '../app/reservation/feed.js';
import { createTicketFeed } from '../app/launch/ticket-feed.js';
import { createRevocationList } from './revocations.js';
import { DEFAULT_MAX_TTL_SECONDS } from '../platform/auth.js';
import { createJwksVerifier } from '../platform/jwks.js';
import { createLine, DEFAULT_LINE } from '../app/launch/line.js';
import { writeLimits } from './rate-limits.js';
import { createReserver } from '../app/reservation/reserver.js';
import { createReservationService } from '../app/reservation/service.js';
import { ticketRoutes } from '../app/launch/routes.js';
import { createSaleBoard } from '../app/launch/sale-board.js';

const MAX_BODY_BYTES = 16 * 1024;

/**
 * Refuses a body above `maxSize` by its Content-Length, without touching the body: touching it
 * makes the Node adapter build a web Request and stream per request (a tenth of a sold-out
 * refusal's CPU). A body without a Content-Length (chunked) is counted as it is read (hono's bodyLimit).
 */
function limitBody(maxSize: number): MiddlewareHandler {
  const tooLarge = (c: Context) => problemResponse(c, new Problem(413, 'PAYLOAD_TOO_LARGE', `request bodies are limited to ${maxSize} bytes`));
  const counted = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next);
    return Number(length) > maxSize ? tooLarge(c) : next();
  };
}

/** The methods routed for a path (HEAD wherever GET is), for a 405's `Allow`; none: the path is unknown. */
function allowedMethods(routes: { path: string; method: string }[]): (path: string) => string[] {
  const patterns = routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({ method: r.method, match: new RegExp(`^${r.path.replace(/\/:[^/]+/g, '/[^/]+').replace(/\*/g, '.*')}/?$`) }));
  return (path) => {
    const methods = new Set(patterns.filter((p) => p.match.test(path)).map((p) => p.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}

export function createApp(deps: AppDeps) {
  // Validation failures of any route answer 400 with the offending fields.
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  // Request metrics and the access log see every answer, errors included.
  const metrics = createHttpMetrics();
  app.use('*', observeRequests(metrics, deps.log));
  app.use('*', limitBody(MAX_BODY_BYTES));
  app.use('*', async (c, next) => {
    const type = c.req.header('content-type');
    if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && type && !/^application\/(.+\+)?json\b/i.test(type)) {
      return problemResponse(c, new Problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json'));
    }
    await next();
  });

  const revocations = createRevocationList(deps.db, deps.log);
  const maxTtlSeconds = deps.tokenMaxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS;
  const provider = deps.identityProvider ? createJwksVerifier(deps.identityProvider) : undefined;
  app.use('*', authenticate(deps.authSecret, { maxTtlSeconds, leewaySeconds: 30, isRevoked: revocations.isRevoked }, provider, revocations.ready));
  if (deps.rateLimits) app.use('*', writeLimits(deps.db, deps.rateLimits, deps.trustedProxies ?? [], deps.log));

  const linePolicy = deps.line ?? DEFAULT_LINE;
  const board = createSaleBoard(deps.db, deps.log, linePolicy.boardEveryMs);
  const reserver = createReserver(deps, board);
  const line = createLine({ db: deps.db, log: deps.log, board, reserver, policy: linePolicy, reservationPolicy: deps.policy });

  app.route('/', healthRoutes(deps, revocations));
  app.route('/products', productRoutes(deps, { board, line }));
  app.route('/stores', storeRoutes(deps));
  app.route('/reservations', reservationRoutes(createReservationService(deps, { reserver, line }), line));
  app.route('/tickets', ticketRoutes(deps, line));
  app.route('/tokens', tokenRoutes(deps, revocations, Math.max(...Object.values(maxTtlSeconds))));
  app.route('/docs', docsRoutes());
  app.route('/launch-desk', launchDeskRoutes(deps, board));
  const feed = createReservationFeed(deps.db, deps.log);
  const tickets = createTicketFeed(deps.db, deps.log);
  const events = eventRoutes(deps, { feed, tickets, board, line, isRevoked: revocations.isRevoked });
  app.route('/events', events.routes);
  if (deps.web) {
    app.route('/', webRoutes(deps.web.dir));
    if (deps.web.devLogin) app.route('/dev', devRoutes(deps));
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'HS256 token with `sub` and `role` (customer | store | admin; store tokens carry `store`). Get one with `npm run token`.',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Tshop Reserve API',
      version: '0.1.0',
      description:
        'Durable phone pre-orders on Temporal. Errors are application/problem+json (RFC 9457) with a stable `code`. ' +
        'Every route but health, readiness and these docs needs a bearer token. Writes are rate-limited per customer and per ' +
        'client address (429 RATE_LIMITED, with Retry-After and the RateLimit / RateLimit-Policy fields). ' +
        'Prometheus metrics are served on a port of their own (API_METRICS_PORT), never this one; the web app (/) is outside this contract.',
    },
    security: [{ bearerAuth: [] }],
  });

  const allowedOn = allowedMethods(app.routes);
  app.notFound((c) => {
    const allowed = allowedOn(c.req.path);
    if (allowed.length === 0) return problemResponse(c, new Problem(404, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
    // Routes are matched strictly: only a trailing slash can make a method that has a route miss it.
    if (allowed.includes(c.req.method)) {
      return problemResponse(c, new Problem(404, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}; without the trailing slash: ${c.req.path.replace(/\/+$/, '')}`));
    }
    const refusal = new Problem(405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allowed.join(', ')}`, {}, { Allow: allowed.join(', ') });
    return problemResponse(c, refusal);
  });
  app.onError((err, c) => problemResponse(c, toProblem(err, deps.log)));
  return Object.assign(app, {
    line,
    board,
    /** The revoked tokens this process knows (the codec endpoint of `npm start` checks with the same list). */
    revocations,
    /** Its Prometheus metrics (`GET /metrics`), served on a port of their own by api/server.ts. */
    metrics: metricsApp(metrics),
    /** Starts admitting from the products' lines (a served API does; an app tested in-process when it needs to). */
    startLine: () => line.start(),
    /** Stops: event streams first (a stopping server waits for requests in flight, and they never end by themselves), then the line. */
    async close() {
      await events.closeAll();
      tickets.stop();
      await line.stop();
      board.stop();
    },
  });
}
