import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { claimIdempotencyKey } from '../../db/repositories/idempotency.js';
import { createProduct, findProduct, listProducts, restockProduct, updateProduct } from '../../db/repositories/products.js';
import type { Product } from '../../db/schema.js';
import { requireRole, type AppEnv } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { Problem } from '../errors.js';
import { CreateProductSchema, IdempotencyHeader, jsonBody, problems, ProductIdParam, ProductSchema, RestockSchema, UpdateProductSchema } from '../schemas.js';

function toProductDto(p: Product) {
  return { id: p.id, sku: p.sku, name: p.name, brand: p.brand, priceKrw: p.price_krw, availableStock: p.stock };
}

const productBody = (description: string) => ({ description, content: { 'application/json': { schema: ProductSchema } } });

/** The phone catalogue with live stock; admins manage it (every stock change through the ledger). */
export function productRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

  const load = async (id: number) => {
    const product = await findProduct(deps.db, id);
    if (!product) throw new Problem(404, 'NOT_FOUND', `no product ${id}`);
    return product;
  };

  /** Lists every product with its available stock. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['products'],
      summary: 'List products with available stock',
      responses: {
        200: { description: 'The catalogue', content: { 'application/json': { schema: z.object({ items: z.array(ProductSchema) }) } } },
        ...problems({}),
      },
    }),
    async (c) => c.json({ items: (await listProducts(deps.db)).map(toProductDto) }, 200),
  );

  /** One product with its available stock. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['products'],
      summary: 'Get a product',
      request: { params: ProductIdParam },
      responses: { 200: productBody('The product'), ...problems({ 404: 'No such product' }) },
    }),
    async (c) => c.json(toProductDto(await load(c.req.valid('param').id)), 200),
  );

  /** Admin: adds a product; its initial stock enters through the ledger. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['admin'],
      summary: 'Create a product (admin)',
      request: { body: jsonBody(CreateProductSchema) },
      responses: { 201: productBody('Created'), ...problems({ 409: 'A product with this sku exists' }, { body: true }) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const body = c.req.valid('json');
      const product = await createProduct(deps.db, body);
      if (!product) throw new Problem(409, 'ALREADY_EXISTS', `a product with sku ${body.sku} exists`);
      c.header('Location', `/products/${product.id}`);
      return c.json(toProductDto(product), 201);
    },
  );

  /** Admin: renames or reprices a product (stock changes only by restock and reservations). */
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['admin'],
      summary: 'Update a product (admin)',
      request: { params: ProductIdParam, body: jsonBody(UpdateProductSchema) },
      responses: { 200: productBody('Updated'), ...problems({ 404: 'No such product' }, { body: true }) },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const updated = await updateProduct(deps.db, c.req.valid('param').id, c.req.valid('json'));
      if (!updated) throw new Problem(404, 'NOT_FOUND', `no product ${c.req.valid('param').id}`);
      return c.json(toProductDto(updated), 200);
    },
  );

  /** Admin: adds stock (a RESTOCK ledger move); with an Idempotency-Key a retry never adds twice. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/restock',
      tags: ['admin'],
      summary: 'Restock a product (admin)',
      request: { params: ProductIdParam, headers: IdempotencyHeader, body: jsonBody(RestockSchema) },
      responses: {
        200: productBody('The product with its new stock'),
        ...problems({ 404: 'No such product', 422: 'Idempotency-Key reused with a different request' }, { body: true }),
      },
    }),
    async (c) => {
      const admin = requireRole(c, 'admin');
      const { id } = c.req.valid('param');
      const { quantity } = c.req.valid('json');
      await load(id);
      const key = c.req.valid('header')['idempotency-key'];
      let moveKey = `restock:${id}:${crypto.randomUUID()}`;
      if (key) {
        const claim = await claimIdempotencyKey(deps.db, {
          scope: `restock:${id}`,
          principal: admin.sub,
          key,
          requestHash: createHash('sha256').update(JSON.stringify({ quantity })).digest('hex'),
          resourceId: `restock:${id}:${admin.sub}:${key}`,
        });
        if (claim.outcome === 'MISMATCH') throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different restock');
        moveKey = claim.resourceId;
      }
      return c.json(toProductDto((await restockProduct(deps.db, id, quantity, moveKey))!), 200);
    },
  );
  return app;
}
