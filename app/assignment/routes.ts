import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { createStore, listStores, toStoreDto, updateStore } from './repository.js';
import { requireRole, type AppEnv } from '../../api/auth.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import { CreateStoreSchema, jsonBody, problems, StoreIdParam, StoreSchema, UpdateStoreSchema } from '../../api/schemas.js';

const storeBody = (description: string) => ({ description, content: { 'application/json': { schema: StoreSchema } } });

/** Dealer stores with their load; admins open, close and size them. */
export function storeRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

  /** Every store with its capacity and current load. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['stores'],
      summary: 'List stores',
      responses: { 200: { description: 'Stores', content: { 'application/json': { schema: z.object({ items: z.array(StoreSchema) }) } } }, ...problems({}) },
    }),
    async (c) => c.json({ items: (await listStores(deps.db)).map(toStoreDto) }, 200),
  );

  /** Admin: opens a new store. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a store (admin)',
      request: { body: jsonBody(CreateStoreSchema) },
      responses: { 201: storeBody('Created'), ...problems({ 409: 'A store with this id exists' }, { body: true }) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const body = c.req.valid('json');
      const store = await createStore(deps.db, body);
      if (!store) throw new Problem(409, 'ALREADY_EXISTS', `a store ${body.id} exists`);
      return c.json(toStoreDto(store), 201);
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
      responses: { 200: storeBody('Updated'), ...problems({ 404: 'No such store', 409: 'Capacity below the reservations it holds' }, { body: true }) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const { id } = c.req.valid('param');
      const result = await updateStore(deps.db, id, c.req.valid('json'));
      if (result.outcome === 'NOT_FOUND') throw new Problem(404, 'NOT_FOUND', `no store ${id}`);
      if (result.outcome === 'BELOW_LOAD') throw new Problem(409, 'CAPACITY_BELOW_LOAD', `store ${id} holds more reservations than that`);
      return c.json(toStoreDto(result.store), 200);
    },
  );
  return app;
}
