/**
 * The assignment service's Prometheus endpoint (`GET /metrics`): each store's capacity and load,
 * read from its own tables at each scrape, and Node process metrics. On a port of its own that
 * only the scraper reaches (loopback unless told), never the port the worker and the API call.
 */
import type { Kysely } from 'kysely';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { listStores } from './repository.js';
import type { AssignmentDatabase } from './schema.js';

/** Where `npm run start:assignment` serves its metrics unless ASSIGNMENT_METRICS_PORT says otherwise. */
export const DEFAULT_ASSIGNMENT_METRICS_PORT = 9466;

export function createAssignmentMetrics(db: Kysely<AssignmentDatabase>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const capacity = gauge('tshop_store_capacity', 'Reservations a store can hold at once', ['store']);
  const active = gauge('tshop_store_active_assignments', 'Reservations currently assigned to a store', ['store']);
  const utilisation = gauge('tshop_store_utilisation_ratio', 'Active assignments / capacity, by store', ['store']);
  const up = gauge('tshop_store_metrics_up', '1 when the store gauges could be read from PostgreSQL at this scrape');

  const refresh = async () => {
    for (const g of [capacity, active, utilisation]) g.reset();
    try {
      for (const s of await listStores(db)) {
        capacity.set({ store: s.id }, s.capacity);
        active.set({ store: s.id }, s.active_count);
        utilisation.set({ store: s.id }, s.capacity > 0 ? s.active_count / s.capacity : 0);
      }
      up.set(1);
    } catch {
      // Stale numbers would look current: none, and say so.
      for (const g of [capacity, active, utilisation]) g.reset();
      up.set(0);
    }
  };

  return {
    /** `GET /metrics` and nothing else. */
    async fetch(req: Request): Promise<Response> {
      if (req.method !== 'GET' || new URL(req.url).pathname !== '/metrics') {
        return new Response('only GET /metrics here\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
      }
      await refresh();
      return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
    },
  };
}
