/**
 * Observability: the API's /metrics, the worker's /metrics (SDK metrics + business gauges + breaker),
 * the assignment service's /metrics (store load),
 * JSON logs that follow one reservation, and optional OpenTelemetry tracing. The worker runs as its
 * own process (`npm run start:worker`), as in production: its Temporal Runtime (logger, Prometheus)
 * can be installed only once per process, and the vitest process has its own.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { createAssignmentMetrics } from '../../app/assignment/metrics.js';
import type { Database } from '../../db/schema.js';
import { buildWorkflowBundle } from '../../workers/bundle.js';
import { waitUntil } from '../../platform/process.js';
import { parseConfig } from '../../platform/config.js';
import { reservationWorkflowId } from '../../app/reservation/contract.js';
import { createLogger, type LogLevel } from '../../platform/log.js';
import { startTracing, tracingClientInterceptors, tracingEnabled } from '../../platform/tracing.js';
import {
  ADMIN,
  assignmentTables,
  connectClient,
  inProcessAssignment,
  DEFAULT_TEST_POLICY,
  eventually,
  newProduct,
  newStore,
  launchWorkerProcess,
  openTestDb,
  startAssignmentService,
  notifierQueueOf,
  TEST_JWT_SECRET,
  tokenFor,
  type TestAssignmentService,
} from '../helpers.js';
import type { Launched } from '../../dev/stack.js';

const WORKER_METRICS_PORT = 19471;
const TRACED_WORKER_METRICS_PORT = 19472;

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let assignment: TestAssignmentService;
const launched: Launched[] = [];

beforeAll(async () => {
  db = await openTestDb();
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
});
afterAll(async () => {
  for (const l of launched) {
    l.child.kill('SIGTERM');
    const gone = await Promise.race([l.exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    if (!gone) l.kill();
  }
  await assignment?.stop();
  await connection?.close();
  await db?.destroy();
});

/** Lines written to stdout while `fn` runs (the shared logger writes JSON lines there). */
async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const original = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    const result = await fn();
    return { result, lines: out.split('\n').filter(Boolean) };
  } finally {
    process.stdout.write = original;
  }
}

/** The real app on `taskQueue`, requests sent as `as` (admin by default; null: no token). */
function apiWith(taskQueue: string, temporal: Client = client, level: LogLevel = 'warn') {
  const app = createApp({
    db,
    temporal,
    taskQueue,
    notifierTaskQueue: notifierQueueOf(taskQueue),
    policy: DEFAULT_TEST_POLICY,
    authSecret: TEST_JWT_SECRET,
    log: createLogger('api', level),
    assignment: inProcessAssignment(db),
  });
  return {
    app,
    async request(path: string, init: RequestInit = {}, as: typeof ADMIN | null = ADMIN) {
      const headers = new Headers(init.headers);
      if (as) headers.set('authorization', `Bearer ${await tokenFor(as)}`);
      return app.request(path, { ...init, headers });
    },
  };
}

/** The value of one sample line (`name{labels} value`) of a Prometheus exposition, if present. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const jsonLines = (lines: string[]) => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

async function reserve(api: ReturnType<typeof apiWith>, productId: number, store: { latitude: number; longitude: number }) {
  return api.request('/reservations', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ productId, customer: { id: `c-${randomUUID().slice(0, 8)}`, latitude: store.latitude, longitude: store.longitude } }),
  });
}

async function statusOf(api: ReturnType<typeof apiWith>, id: string): Promise<string> {
  return ((await (await api.request(`/reservations/${id}`)).json()) as { status: string }).status;
}

/** Runs `npm run start:worker` on its own task queue against the test servers. */
async function startWorkerProcess(env: Record<string, string>) {
  const taskQueue = `metrics-${randomUUID()}`;
  const worker = await launchWorkerProcess(taskQueue, assignment.url, { LOG_LEVEL: 'info', ...env });
  launched.push(worker);
  return { worker, taskQueue };
}

describe('the API', () => {
  it('serves /metrics on its metrics port only: requests by route pattern, method and status, never its own scrapes', async () => {
    const api = apiWith('unused-task-queue', client, 'info');
    const other = apiWith('unused-task-queue');
    const missing = 'ABCDEFGHJKMN'; // a well-formed id no reservation has
    const { lines } = await captureStdout(async () => {
      expect((await api.request('/healthz', {}, null)).status).toBe(200);
      expect((await api.request('/healthz', {}, null)).status).toBe(200);
      expect((await api.request('/products')).status).toBe(200);
      expect((await api.request(`/reservations/${missing}`)).status).toBe(404);
      expect((await api.request(`/reservations/${missing}`, {}, null)).status).toBe(401);
      expect((await api.request('/no/such/route')).status).toBe(404);
      expect((await api.app.metrics.request('/metrics')).status).toBe(200);
      // Not on the public port, with a token or without.
      expect((await api.request('/metrics')).status).toBe(404);
      expect((await api.request('/metrics', {}, null)).status).toBe(401);
    });
    const res = await api.app.metrics.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'tshop_http_requests_total{method="GET",route="/healthz",status="200"}')).toBe(2);
    expect(sample(text, 'tshop_http_requests_total{method="GET",route="/products",status="200"}')).toBe(1);
    expect(sample(text, 'tshop_http_requests_total{method="GET",route="/reservations/:id",status="404"}')).toBe(1);
    expect(sample(text, 'tshop_http_requests_total{method="GET",route="/reservations/:id",status="401"}')).toBe(1);
    expect(sample(text, 'tshop_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sample(text, 'tshop_http_request_duration_seconds_count{method="GET",route="/products",status="200"}')).toBe(1);
    expect(sample(text, 'tshop_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/healthz",status="200"}')).toBe(2);
    // The raw path never becomes a label, and scrapes are not counted.
    expect(text).not.toContain(missing);
    expect(text).not.toMatch(/route="\/metrics"/);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // Each app has its own registry: the other one counted nothing.
    expect(await (await other.app.metrics.request('/metrics')).text()).not.toMatch(/^tshop_http_requests_total\{/m);
    // /metrics is not part of the JSON contract.
    const doc = (await (await other.request('/openapi.json', {}, null)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain('/metrics');

    // One JSON line per request: method, route, status, ms, and the reservation when the route has one.
    const requests = jsonLines(lines).filter((l) => l.msg === 'request');
    expect(requests.filter((l) => l.route === '/reservations/:id')).toEqual([
      expect.objectContaining({ level: 'info', component: 'api', method: 'GET', route: '/reservations/:id', status: 404, ms: expect.any(Number), reservationId: missing }),
      expect.objectContaining({ level: 'info', status: 401, reservationId: missing }),
    ]);
    // Probes, scrapes and what every open page polls (the catalogue, a place in line) only at debug.
    expect(requests.filter((l) => l.route === '/healthz' || l.route === '/metrics' || l.route === '/products')).toEqual([]);
  });
});

describe('the worker process', () => {
  let worker: Launched;
  let api: ReturnType<typeof apiWith>;
  let taskQueue: string;
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${WORKER_METRICS_PORT}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  // The assignment service's own endpoint (cmd/assignment.ts serves it on ASSIGNMENT_METRICS_PORT).
  const storeScrape = async () => {
    const res = await createAssignmentMetrics(assignmentTables(db)).fetch(new Request('http://assignment.test/metrics'));
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    const started = await startWorkerProcess({
      WORKER_METRICS_PORT: String(WORKER_METRICS_PORT),
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      ASSIGNMENT_BREAKER_FAILURES: '2',
      ASSIGNMENT_BREAKER_HALF_OPEN_AFTER: '5m',
    });
    worker = started.worker;
    taskQueue = started.taskQueue;
    api = apiWith(taskQueue);
    // Printed right after the polling line the launch waited for.
    await worker.waitForOutput(`worker metrics at http://127.0.0.1:${WORKER_METRICS_PORT}/metrics`, 10_000);
  });

  it('serves the SDK metrics, the business gauges and the breaker state; its logs follow a reservation', async () => {
    const product = await newProduct(db, 5);
    const store = await newStore(db, 4);
    const { result: id, lines: apiLines } = await captureStdout(async () => {
      const res = await reserve(apiWith(taskQueue, client, 'info'), product.id, store);
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    });
    await eventually(() => statusOf(api, id), (s) => s === 'CONFIRMED');

    // The store's load is the assignment service's, on its own metrics endpoint; the worker has none of it.
    const stores = await eventually(storeScrape, (t) => sample(t, `tshop_store_active_assignments{store="${store.id}"}`) === 1);
    expect(sample(stores, `tshop_store_capacity{store="${store.id}"}`)).toBe(4);
    expect(sample(stores, `tshop_store_utilisation_ratio{store="${store.id}"}`)).toBe(0.25);
    expect(sample(stores, 'tshop_store_metrics_up')).toBe(1);
    const text = await scrape();
    expect(text).not.toMatch(/^tshop_store_/m);
    // Business gauges, read from PostgreSQL at the scrape.
    expect(sample(text, `tshop_product_stock{product_id="${product.id}",sku="${product.sku}"}`)).toBe(4);
    expect(sample(text, 'tshop_reservations{status="CONFIRMED"}')).toBeGreaterThanOrEqual(1);
    for (const status of ['PENDING', 'REJECTED', 'ACCEPTED', 'COMPLETED', 'CANCEL_REQUESTED', 'CANCELLED', 'EXPIRED']) {
      expect(sample(text, `tshop_reservations{status="${status}"}`), status).toBeGreaterThanOrEqual(0);
    }
    expect(sample(text, 'tshop_business_metrics_up')).toBe(1);
    // The Temporal SDK's own metrics, from the runtime's Prometheus exporter.
    expect(sample(text, 'tshop_worker_sdk_metrics_up')).toBe(1);
    expect(text).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
    expect(text).toMatch(/^temporal_activity_execution_latency_bucket\{.*activity_type="assignStore"/m);
    expect(text).toMatch(/^temporal_request\{/m);
    // This process's breaker is closed.
    expect(sample(text, 'tshop_assignment_breaker_state{state="closed"}')).toBe(1);
    expect(sample(text, 'tshop_assignment_breaker_state{state="open"}')).toBe(0);
    expect(text).toMatch(/^process_resident_memory_bytes /m);

    // JSON lines: the API's request and decision, then every activity of the workflow, all carrying the ids.
    const workflowId = `reservation-${id}`;
    const fromApi = jsonLines(apiLines).filter((l) => l.reservationId === id);
    expect(fromApi).toContainEqual(expect.objectContaining({ msg: 'request', method: 'POST', route: '/reservations', status: 201 }));
    expect(fromApi).toContainEqual(expect.objectContaining({ msg: 'stock decision', workflowId, status: 'ACCEPTED' }));
    const activityLines = await eventually(
      async () => jsonLines(worker.stdout().split('\n')).filter((l) => l.reservationId === id && l.msg === 'activity completed'),
      (ls) => ['reserveStock', 'assignStore'].every((t) => ls.some((l) => l.activityType === t)),
    );
    for (const l of activityLines) {
      expect(l).toMatchObject({ level: 'info', component: 'worker', workflowId, workflowType: 'reservationWorkflow', sdkComponent: 'activity' });
      expect(l.durationMs).toEqual(expect.any(Number));
    }
    // Nothing but JSON lines and the launcher's own plain lines.
    for (const line of worker.stdout().split('\n').filter(Boolean)) {
      if (!line.startsWith('{')) expect(line).toMatch(/^worker (polling|metrics at)/);
    }
  });

  it("shows this worker's breaker open when the assignment service fails", async () => {
    const product = await newProduct(db, 5);
    const store = await newStore(db, 4);
    assignment.setFailing(true);
    try {
      const res = await reserve(api, product.id, store);
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const text = await eventually(scrape, (t) => sample(t, 'tshop_assignment_breaker_state{state="open"}') === 1, 20_000);
      expect(sample(text, 'tshop_assignment_breaker_state{state="closed"}')).toBe(0);
      // Stock taken, no store: the store's gauges stay at zero.
      expect(sample(text, `tshop_product_stock{product_id="${product.id}",sku="${product.sku}"}`)).toBe(4);
      expect(sample(await storeScrape(), `tshop_store_utilisation_ratio{store="${store.id}"}`)).toBe(0);
      expect(await statusOf(api, id)).toBe('ACCEPTED');
      await client.workflow.getHandle(reservationWorkflowId(id)).terminate('test over');
    } finally {
      assignment.setFailing(false);
    }
  });
});

describe('tracing', () => {
  it('is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
    expect(startTracing(parseConfig({}), 'tshop-test').enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(tracingClientInterceptors()).toEqual([]);
  });

  it('sends one trace per reservation from the API client, the workflow and its activities to an OTLP/HTTP receiver', async () => {
    type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string };
    type OtlpBody = {
      resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    const spans: (OtlpSpan & { service: string })[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          for (const rs of (JSON.parse(body) as OtlpBody).resourceSpans) {
            const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
            for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    const tracing = startTracing(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }), 'tshop-api-test');
    try {
      expect(tracing.enabled).toBe(true);
      // As in the image: a plain prebuilt bundle and one with the tracing interceptors; with tracing
      // on the worker must load the second, or no workflow span could arrive below.
      const tracingBundle = path.join(mkdtempSync(path.join(tmpdir(), 'tshop-tracing-')), 'workflow-bundle-tracing.js');
      await buildWorkflowBundle(tracingBundle, { tracing: true });
      const { taskQueue } = await startWorkerProcess({
        WORKER_METRICS_PORT: String(TRACED_WORKER_METRICS_PORT),
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
        WORKFLOW_TRACING_BUNDLE_PATH: tracingBundle,
      });
      const { Client: TracedClient } = await import('@temporalio/client');
      const tracedClient = new TracedClient({ connection, interceptors: { workflow: tracingClientInterceptors() } });
      const api = apiWith(taskQueue, tracedClient);
      const product = await newProduct(db, 5);
      const store = await newStore(db, 4);
      const res = await reserve(api, product.id, store);
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      await eventually(() => statusOf(api, id), (s) => s === 'CONFIRMED');
      await tracing.shutdown(); // flushes the API's spans
      const startSpan = spans.find((s) => s.service === 'tshop-api-test' && /UpdateWithStart|StartWorkflow/.test(s.name));
      expect(startSpan, JSON.stringify(spans.map((s) => [s.service, s.name]))).toBeDefined();
      // Workflow spans come from inside the workflow (through the worker's sink); its RunWorkflow span
      // ends only when the reservation does, so it is not expected here.
      const expected = ['HandleUpdate:reserve', 'StartActivity:reserveStock', 'RunActivity:reserveStock', 'RunActivity:assignStore'];
      const ok = await waitUntil(
        async () => expected.every((name) => spans.some((s) => s.service === 'tshop-worker' && s.name === name && s.traceId === startSpan!.traceId)),
        15_000,
        200,
      );
      expect(ok, JSON.stringify(spans.map((s) => [s.service, s.name, s.traceId]))).toBe(true);
      await client.workflow.getHandle(reservationWorkflowId(id)).terminate('test over');
    } finally {
      await tracing.shutdown();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});
