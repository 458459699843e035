import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { AssignmentServiceUnavailable } from './client.js';
import { requireRole, type AppEnv } from '../../api/auth.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import { CreateStoreSchema, jsonBody, problems, retryLater, StoreIdParam, StoreSchema, UpdateStoreSchema } from '../../api/schemas.js';

const storeBody = (description: string) => ({ description, content: { 'application/json': { schema: StoreSchema } } });
const unavailable = { 503: retryLater('SERVICE_UNAVAILABLE: the assignment service is unavailable; repeat after `Retry-After` seconds') };

/** The assignment service's store data, asked of it over its API: a 503 while it is down, nothing else affected. */
async function fromService<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    if (!(err instanceof AssignmentServiceUnavailable)) throw err;
    throw new Problem(503, 'SERVICE_UNAVAILABLE', 'the assignment service is unavailable; stores can be read and changed again shortly', {}, { 'Retry-After': '5' });
  }
}

/** Dealer stores with their load, from the assignment service; admins open, close and size them. */
export function storeRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

  /** Every store with its capacity and current load. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['stores'],
      summary: 'List stores',
      responses: { 200: { description: 'Stores', content: { 'application/json': { schema: z.object({ items: z.array(StoreSchema) }) } } }, ...problems(unavailable) },
    }),
    async (c) => c.json({ items: await fromService(() => deps.assignment.listStores()) }, 200),
  );

  /** Admin: opens a new store. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a store (admin)',
      request: { body: jsonBody(CreateStoreSchema) },
      responses: { 201: storeBody('Created'), ...problems({ 409: 'A store with this id exists', ...unavailable }, { body: true }) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const body = c.req.valid('json');
      const result = await fromService(() => deps.assignment.createStore(body));
      if (result.outcome === 'ALREADY_EXISTS') throw new Problem(409, 'ALREADY_EXISTS', `a store ${body.id} exists`);
      return c.json(result.store, 201);
    },
  );

  /** Admin: opens or closes a store, or changes its capacity (never below what it holds now). */
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Open/close a store or change its capacity (admin)',
      request: { params: StoreIdParam, body: jsonBody(UpdateStoreSchema) },
      responses: { 200: storeBody('Updated'), ...problems({ 404: 'No such store', 409: 'Capacity below the reservations it holds', ...unavailable }, { body: true }) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const { id } = c.req.valid('param');
      const patch = c.req.valid('json');
      const result = await fromService(() => deps.assignment.updateStore(id, patch));
      if (result.outcome === 'NOT_FOUND') throw new Problem(404, 'NOT_FOUND', `no store ${id}`);
      if (result.outcome === 'BELOW_LOAD') throw new Problem(409, 'CAPACITY_BELOW_LOAD', `store ${id} holds more reservations than that`);
      return c.json(result.store, 200);
    },
  );
  return app;
}
