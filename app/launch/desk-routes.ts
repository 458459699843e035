/**
 * `GET /launch-desk` (admin): what the people running a launch watch, in one answer: per product the
 * units left, reservations of the last minute and the counts by status; the stores' load; and the
 * workers' circuit breaker to the assignment service, read from their metrics.
 */
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { productFigures, storeLoads } from './desk.js';
import { listSamples } from './sales.js';
import { requireRole, type AppEnv } from '../../api/auth.js';
import type { AppDeps } from '../../api/deps.js';
import type { SaleBoard } from './sale-board.js';
import { problems } from '../../api/schemas.js';
import { type BreakerSchema, CHART_MINUTES, LaunchDeskSchema } from './desk-schema.js';
import { toSaleDto } from './mapping.js';

type BreakerState = z.infer<typeof BreakerSchema>['state'];

/** One worker's breaker, from its `tshop_assignment_breaker_state{state="…"} 1` sample. */
async function breakerOf(url: string): Promise<BreakerState | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
  if (!res?.ok) return undefined;
  const match = /^tshop_assignment_breaker_state\{state="([a-z-]+)"\} 1$/m.exec(await res.text());
  const state = match?.[1];
  return state === 'closed' || state === 'open' || state === 'half-open' ? state : state === 'isolated' ? 'open' : undefined;
}

/** The worst state among the workers that answered: one open breaker is what the desk must see. */
async function breakers(urls: string[]): Promise<z.infer<typeof BreakerSchema>> {
  if (urls.length === 0) return { state: 'unknown', detail: 'no worker metrics configured (WORKER_METRICS_URLS)' };
  const states = (await Promise.all(urls.map(breakerOf))).filter((s): s is BreakerState => s !== undefined);
  if (states.length === 0) return { state: 'unknown', detail: `none of ${urls.length} worker(s) answered` };
  const state = (['open', 'half-open', 'closed'] as const).find((s) => states.includes(s))!;
  return { state, detail: `${states.filter((s) => s === state).length} of ${urls.length} worker(s) ${state}` };
}

export function launchDeskRoutes(deps: AppDeps, board: SaleBoard) {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['launch desk'],
      summary: 'Units, reservations, store load and the assignment breaker (admin)',
      responses: { 200: { description: 'The launch as it stands', content: { 'application/json': { schema: LaunchDeskSchema } } }, ...problems({}) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const [products, stores, breaker, samples, sales] = await Promise.all([
        productFigures(deps.db),
        storeLoads(deps.assignment),
        breakers(deps.workerMetricsUrls ?? []),
        listSamples(deps.db, CHART_MINUTES),
        board.all(),
      ]);
      const saleOf = new Map(sales.map((v) => [v.id, toSaleDto(v, board)]));
      return c.json(
        {
          generatedAt: new Date().toISOString(),
          products: products.flatMap((p) => {
            const sale = saleOf.get(p.id);
            if (!sale) return [];
            const own = samples.filter((x) => x.product_id === p.id);
            const points = own.map((x) => ({ at: x.at.toISOString(), stock: x.stock, claimed: x.claimed, waiting: Number(x.waiting), admitted: Number(x.admitted), accepted: Number(x.accepted) }));
            return [{ ...p, sale, samples: points }];
          }),
          stores: (stores ?? []).map((s) => ({
            id: s.id,
            name: s.name,
            district: s.district,
            isOpen: s.open,
            capacity: s.capacity,
            active: s.active,
            load: s.capacity > 0 ? Math.round((s.active / s.capacity) * 1000) / 1000 : 0,
          })),
          storesAvailable: stores !== undefined,
          breaker,
        },
        200,
      );
    },
  );
  return app;
}
