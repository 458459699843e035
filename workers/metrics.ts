/**
 * The worker's Prometheus endpoint (`GET /metrics`): the Temporal SDK's own metrics (read from the
 * runtime's internal listener), this process's assignment circuit breaker, Node process metrics, and
 * business gauges computed from PostgreSQL at each scrape. Store load is the assignment service's
 * own (app/assignment/metrics.ts).
 */
import type { Kysely } from 'kysely';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { AssignmentBreaker } from '../app/assignment/activities.js';
import { pendingNotificationCount, reservationCountsByStatus } from './metrics-queries.js';
import { listProducts } from '../app/product/repository.js';
import type { Database } from '../db/schema.js';
import { RESERVATION_STATUSES } from '../app/reservation/contract.js';
import type { Logger } from '../platform/log.js';
import { listen, type RunningServer } from '../platform/http.js';

/** Where `npm run start:worker` serves its metrics unless WORKER_METRICS_PORT says otherwise. */
export const DEFAULT_WORKER_METRICS_PORT = 9464;
const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;
const SDK_SCRAPE_TIMEOUT_MS = 2_000;

export interface WorkerMetricsDeps {
  db: Kysely<Database>;
  /** The breaker the worker's assignment activities use. */
  breaker: AssignmentBreaker;
  /** The Temporal runtime's internal Prometheus URL, when metrics are enabled on the runtime. */
  sdkMetricsUrl?: string;
}

/** Builds the worker's registry; `render()` refreshes the gauges and returns the whole exposition text. */
export function createWorkerMetrics({ db, breaker, sdkMetricsUrl }: WorkerMetricsDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });

  const reservations = gauge('tshop_reservations', 'Reservations in the read model, by status', ['status']);
  const stock = gauge('tshop_product_stock', 'Units in stock, by product', ['product_id', 'sku']);
  const pending = gauge('tshop_notifications_pending', 'Customer notifications in the outbox not yet delivered');
  const dbUp = gauge('tshop_business_metrics_up', '1 when the business gauges could be read from PostgreSQL at this scrape');
  const sdkUp = gauge('tshop_worker_sdk_metrics_up', "1 when the Temporal SDK's metrics could be read at this scrape");
  const breakerState = gauge(
    'tshop_assignment_breaker_state',
    "This worker process's assignment-service circuit breaker: 1 for its current state, 0 for the others",
    ['state'],
  );

  const refreshBusiness = async () => {
    try {
      const [byStatus, products, unsent] = await Promise.all([reservationCountsByStatus(db), listProducts(db), pendingNotificationCount(db)]);
      reservations.reset();
      for (const status of RESERVATION_STATUSES) reservations.set({ status }, 0);
      for (const r of byStatus) reservations.set({ status: r.status }, r.count);
      stock.reset();
      for (const p of products) stock.set({ product_id: String(p.id), sku: p.sku }, p.stock);
      pending.set(unsent);
      dbUp.set(1);
    } catch {
      // Stale numbers would look current: drop them and say so.
      for (const g of [reservations, stock, pending]) g.reset();
      dbUp.set(0);
    }
  };

  const sdkText = async (): Promise<string> => {
    if (!sdkMetricsUrl) {
      sdkUp.set(0);
      return '';
    }
    try {
      const res = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`answered ${res.status}`);
      const text = await res.text();
      sdkUp.set(1);
      return text.trimEnd() ? `${text.trimEnd()}\n` : '';
    } catch {
      sdkUp.set(0);
      return '';
    }
  };

  return {
    registry,
    contentType: registry.contentType,
    /** The full exposition: the SDK's metrics first, then ours. */
    async render(): Promise<string> {
      const state = breaker.state();
      for (const s of BREAKER_STATES) breakerState.set({ state: s }, s === state ? 1 : 0);
      const [sdk] = await Promise.all([sdkText(), refreshBusiness()]);
      return sdk + (await registry.metrics());
    },
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * Serves `GET /metrics` on host:port. A port that is taken is logged as an error and the worker
 * goes on without the endpoint (it returns undefined): reservations matter more than their metrics.
 */
export async function serveWorkerMetrics(metrics: WorkerMetrics, host: string, port: number, log: Logger): Promise<RunningServer | undefined> {
  const handle = async (req: Request): Promise<Response> => {
    if (req.method !== 'GET' || new URL(req.url).pathname !== '/metrics') {
      return new Response('only GET /metrics here\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    try {
      return new Response(await metrics.render(), { headers: { 'content-type': metrics.contentType } });
    } catch (err) {
      log.error('metrics scrape failed', { error: err });
      return new Response('metrics unavailable\n', { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
  };
  try {
    const server = await listen(handle, host, port, 'worker metrics, WORKER_METRICS_PORT');
    return { url: `${server.url}/metrics`, close: server.close };
  } catch (err) {
    log.error('worker metrics endpoint not started', { host, port, error: err instanceof Error ? err.message : err });
    return undefined;
  }
}
