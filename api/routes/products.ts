import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { findProduct, listProducts } from '../../db/repositories/products.js';
import type { Product } from '../../db/schema.js';
import type { AppDeps } from '../deps.js';
import { Problem } from '../errors.js';
import { problemDoc, ProductIdParam, ProductSchema } from '../schemas.js';


export function toProductDto(p: Product) {
  return { id: p.id, sku: p.sku, name: p.name, brand: p.brand, priceKrw: p.price_krw, availableStock: p.stock };
}

/** The phone catalogue with live stock. */
export function productRoutes(deps: AppDeps) {
  const app = new OpenAPIHono();

  /** Lists every product with its available stock. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['products'],
      summary: 'List products with available stock',
      responses: { 200: { description: 'The catalogue', content: { 'application/json': { schema: z.object({ items: z.array(ProductSchema) }) } } } },
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
      responses: {
        200: { description: 'The product', content: { 'application/json': { schema: ProductSchema } } },
        400: problemDoc('Invalid id'),
        404: problemDoc('No such product'),
      },
    }),
    async (c) => {
      const product = await findProduct(deps.db, c.req.valid('param').id);
      if (!product) throw new Problem(404, 'NOT_FOUND', 'no such product');
      return c.json(toProductDto(product), 200);
    },
  );
  return app;
}
