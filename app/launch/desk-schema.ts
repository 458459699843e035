/**
 * The launch desk's answer (`GET /launch-desk`), apart from its route (desk-routes.ts): the web app
 * takes its types from here without type-checking the server's Node modules.
 */
import { z } from '@hono/zod-openapi';
import { SaleSchema } from '../../api/schemas.js';

/** How far back the desk's charts reach. */
export const CHART_MINUTES = 60;

const SampleSchema = z.object({
  at: z.string(),
  stock: z.number().int(),
  claimed: z.number().int(),
  waiting: z.number().int().openapi({ description: 'Places in line not yet reached' }),
  admitted: z.number().int().openapi({ description: 'Places passed so far' }),
  accepted: z.number().int().openapi({ description: 'Units taken by reservations so far (its slope is reservations per minute)' }),
});

export const BreakerSchema = z.object({
  state: z.enum(['closed', 'open', 'half-open', 'unknown']),
  detail: z.string(),
});

export const LaunchDeskSchema = z
  .object({
    generatedAt: z.string(),
    products: z.array(
      z.object({
        id: z.number().int(),
        name: z.string(),
        stock: z.number().int().openapi({ description: 'Units left' }),
        claimed: z.number().int().openapi({ description: 'Units held by requests being decided' }),
        perMinute: z.number().int().openapi({ description: 'Reservations accepted in the last minute' }),
        counts: z.record(z.string(), z.number().int()).openapi({ description: 'Reservations by status' }),
        sale: SaleSchema,
        samples: z.array(SampleSchema).openapi({ description: `The launch's figures every few seconds over the last ${CHART_MINUTES} minutes, oldest first` }),
      }),
    ),
    stores: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        district: z.string(),
        isOpen: z.boolean(),
        capacity: z.number().int(),
        active: z.number().int(),
        load: z.number(),
      }),
    ),
    storesAvailable: z.boolean().openapi({ description: 'False while the assignment service is down: `stores` is then empty, the rest as usual' }),
    breaker: BreakerSchema,
  })
  .openapi('LaunchDesk');
