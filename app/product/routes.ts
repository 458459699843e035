import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { claimIdempotencyKey, releaseIdempotencyKey } from '../reservation/idempotency.js';
import { createProduct, restockProduct, updateProduct } from './repository.js';
import { drawRecord, updateSale } from '../launch/sales.js';
import { findTicketOfReservation } from '../launch/tickets.js';
import { newReservationId, reservationIdForKey } from '../../platform/ids.js';
import { requireRole, type AppEnv } from '../../api/auth.js';
import { customerOf } from '../reservation/customers.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import type { Line } from '../launch/line.js';
import type { SaleBoard, SaleView } from '../launch/sale-board.js';
import {
  CreateProductSchema,
  DrawSchema,
  IdempotencyHeader,
  JoinLineSchema,
  jsonBody,
  problems,
  ProductIdParam,
  ProductSchema,
  rateLimited,
  RestockSchema,
  SaleSchema,
  TicketSchema,
  UpdateProductSchema,
  UpdateSaleSchema,
} from '../../api/schemas.js';
import { queueAnswer } from '../launch/routes.js';
import { toSaleDto } from '../launch/mapping.js';

const hashOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value ?? null)).digest('hex');

/**
 * The most units a product holds in stock. Its column is a PostgreSQL integer (at most 2,147,483,647):
 * this leaves room for as many again out on reservations, which a cancellation or an expiry puts back.
 */
export const MAX_PRODUCT_STOCK = 1_000_000_000;

function toProductDto(v: SaleView) {
  return {
    id: v.id,
    sku: v.sku,
    name: v.name,
    brand: v.brand,
    priceKrw: v.price_krw,
    availableStock: v.stock,
    sale: { state: v.state, opensAt: v.opens_at?.toISOString() ?? null, closesAt: v.closes_at?.toISOString() ?? null, unitLimit: v.unit_limit, order: v.queue_order, waiting: v.waiting },
  };
}

const productBody = (description: string) => ({ description, content: { 'application/json': { schema: ProductSchema } } });

/** A draw, once made, never changes: each process reads its record once (a public URL anyone may fetch). */
function drawCache(deps: AppDeps) {
  const read = async (productId: number) => {
    const record = (await drawRecord(deps.db, productId))!;
    return {
      productId,
      order: record.order,
      seedSha256: record.seedSha256,
      seed: record.seed,
      drawnAt: record.drawnAt?.toISOString() ?? null,
      algorithm: 'sort the tickets by lower-case hex SHA-256 of "<seed>:<ticket id>", ascending; ties by ticket id',
      tickets: record.tickets,
    };
  };
  const drawn = new Map<string, ReturnType<typeof read>>();
  return {
    of(sale: SaleView) {
      if (!sale.drawn_at) return read(sale.id);
      const key = `${sale.id}@${sale.drawn_at.getTime()}`;
      if (!drawn.has(key)) drawn.set(key, read(sale.id).catch((err: unknown) => (drawn.delete(key), Promise.reject(err))));
      return drawn.get(key)!;
    },
  };
}

/** The phone catalogue with live stock; admins manage it (every stock change through the ledger). */
export function productRoutes(deps: AppDeps, { board, line }: { board: SaleBoard; line: Line }) {
  const app = new OpenAPIHono<AppEnv>();

  /** The product and its sale from the board (read again if this process does not know it yet). */
  const load = async (id: number, maxAgeMs?: number) => {
    const view = await board.get(id, maxAgeMs);
    if (!view) throw new Problem(404, 'NOT_FOUND', `no product ${id}`);
    return view;
  };
  /** Whether the restock move with this key is in the ledger. */
  const restockMade = async (moveKey: string) =>
    Boolean(await deps.db.selectFrom('stock_ledger').select('id').where('idempotency_key', '=', moveKey).executeTakeFirst());
  // The catalogue may be this old (a million open pages poll it; the reserve request decides the stock).
  const CATALOGUE_AGE_MS = 1_000;
  const draws = drawCache(deps);

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
    async (c) => {
      c.header('Cache-Control', 'private, max-age=1');
      return c.json({ items: (await board.all(CATALOGUE_AGE_MS)).map(toProductDto) }, 200);
    },
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
    async (c) => {
      c.header('Cache-Control', 'private, max-age=1');
      return c.json(toProductDto(await load(c.req.valid('param').id, CATALOGUE_AGE_MS)), 200);
    },
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
      await board.refresh();
      c.header('Location', `/products/${product.id}`);
      return c.json(toProductDto(await load(product.id)), 201);
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
      await board.refresh();
      return c.json(toProductDto(await load(updated.id)), 200);
    },
  );

  /** Admin: adds stock (a RESTOCK ledger move); with an Idempotency-Key a retry never adds twice. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/restock',
      tags: ['admin'],
      summary: 'Restock a product (admin)',
      description: `A product holds at most ${MAX_PRODUCT_STOCK.toLocaleString('en')} units in stock: a restock past that is refused (409 STOCK_LIMIT).`,
      request: { params: ProductIdParam, headers: IdempotencyHeader, body: jsonBody(RestockSchema) },
      responses: {
        200: productBody('The product with its new stock'),
        ...problems(
          { 404: 'No such product', 409: `STOCK_LIMIT: the stock would pass ${MAX_PRODUCT_STOCK.toLocaleString('en')} units`, 422: 'Idempotency-Key reused with a different request' },
          { body: true },
        ),
      },
    }),
    async (c) => {
      const admin = requireRole(c, 'admin');
      const { id } = c.req.valid('param');
      const { quantity } = c.req.valid('json');
      const { stock } = await load(id, 0);
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
      // Past the limit only a repeat of a restock already made is answered (as it was); a refusal
      // gives its key back, so that the same key can restock once the stock is lower.
      if (stock + quantity > MAX_PRODUCT_STOCK && !(key && (await restockMade(moveKey)))) {
        if (key) await releaseIdempotencyKey(deps.db, { scope: `restock:${id}`, principal: admin.sub, key });
        throw new Problem(409, 'STOCK_LIMIT', `product ${id} has ${stock} units; ${quantity} more would pass ${MAX_PRODUCT_STOCK}`, { stock, maxStock: MAX_PRODUCT_STOCK });
      }
      await restockProduct(deps.db, id, quantity, moveKey);
      await board.refresh();
      return c.json(toProductDto(await load(id)), 200);
    },
  );

  /** Joins a product's line: before the opening, or whenever its line is the way in. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/tickets',
      tags: ['line'],
      summary: "Join a product's line (customer)",
      description:
        'A place in line, from before the opening on: at the opening those who joined early are ordered first-come or by the ' +
        "sale's lottery, then everyone in order of joining; the line admits as fast as stock decisions complete (or at the desk's " +
        'rate), and each admitted ticket becomes a reservation. One live ticket per customer and per phone number. Follow it with ' +
        'GET /tickets/{id} after `Retry-After` (which keeps it alive) or on GET /events.',
      request: { params: ProductIdParam, headers: IdempotencyHeader, body: jsonBody(JoinLineSchema, false) },
      responses: {
        202: {
          description: 'Your place in line',
          headers: {
            Location: { description: 'The ticket', schema: { type: 'string' as const } },
            'Retry-After': { description: 'Seconds until it is worth asking again', schema: { type: 'integer' as const } },
          },
          content: { 'application/json': { schema: TicketSchema } },
        },
        ...problems(
          {
            403: 'FORBIDDEN: customers only; PHONE_NOT_VERIFIED: your token carries no verified phone number',
            404: 'No such product',
            409: 'OUT_OF_STOCK: sold out; SALE_CLOSED; LIMIT_REACHED; ALREADY_QUEUED (`ticketId`)',
            422: 'IDEMPOTENCY_KEY_REUSED',
            429: rateLimited,
          },
          { body: true },
        ),
      },
    }),
    async (c) => {
      const principal = requireRole(c, 'customer');
      const { id } = c.req.valid('param');
      const body = JoinLineSchema.parse(c.req.valid('json') ?? {});
      const sale = await load(id);
      if (sale.state === 'CLOSED') throw new Problem(409, 'SALE_CLOSED', `the sale of ${sale.name} closed at ${sale.closes_at!.toISOString()}`, { closesAt: sale.closes_at!.toISOString() });
      if (sale.state === 'SOLD_OUT') throw new Problem(409, 'OUT_OF_STOCK', `${sale.name} is sold out`);
      const customer = await customerOf(deps, principal, body.customer);
      const key = c.req.valid('header')['idempotency-key'];
      const reservationId = key ? reservationIdForKey(principal.sub, `ticket:${id}:${key}`) : newReservationId();
      if (key) {
        const claim = await claimIdempotencyKey(deps.db, { scope: `ticket:${id}`, principal: principal.sub, key, requestHash: hashOf(body), resourceId: reservationId });
        if (claim.outcome === 'MISMATCH') throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
        const earlier = claim.outcome === 'REPLAY' ? await findTicketOfReservation(deps.db, reservationId) : undefined;
        if (earlier) return queueAnswer(c, line, earlier);
      }
      try {
        const ticket = await line.enqueue({ ...customer.contact, reservationId, productId: id, phoneKey: customer.phoneKey, quantity: body.quantity, fulfilment: body.fulfilment });
        return queueAnswer(c, line, ticket);
      } catch (err) {
        if (key && err instanceof Problem) await releaseIdempotencyKey(deps.db, { scope: `ticket:${id}`, principal: principal.sub, key });
        throw err;
      }
    },
  );

  /** The sale: its settings, its line's counters and its lottery. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/sale',
      tags: ['line'],
      summary: "A product's sale and line",
      request: { params: ProductIdParam },
      responses: { 200: { description: 'The sale', content: { 'application/json': { schema: SaleSchema } } }, ...problems({ 404: 'No such product' }) },
    }),
    async (c) => c.json(toSaleDto(await load(c.req.valid('param').id), board), 200),
  );

  /** Admin: the launch desk sets the opening, pauses and resumes, limits and meters. */
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}/sale',
      tags: ['admin'],
      summary: 'Set the opening and closing time, pause or resume, the units per customer, the order and the admission rate (admin)',
      description:
        'The order can change only before the opening while nobody waits. Choosing LOTTERY (which needs an opening time still to ' +
        "come) fixes the seed and publishes its SHA-256 at once; the seed itself is revealed at the draw.",
      request: { params: ProductIdParam, body: jsonBody(UpdateSaleSchema) },
      responses: {
        200: { description: 'The sale as it now is', content: { 'application/json': { schema: SaleSchema } } },
        ...problems({ 404: 'No such product', 409: 'SALE_ORDER_FIXED; LOTTERY_NEEDS_OPENING; CLOSES_BEFORE_OPENING', 429: rateLimited }, { body: true }),
      },
    }),
    async (c) => {
      requireRole(c, 'admin');
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const change = await updateSale(deps.db, id, {
        ...(body.opensAt !== undefined ? { opensAt: body.opensAt === null ? null : new Date(body.opensAt) } : {}),
        ...(body.closesAt !== undefined ? { closesAt: body.closesAt === null ? null : new Date(body.closesAt) } : {}),
        ...(body.paused !== undefined ? { paused: body.paused } : {}),
        ...(body.unitLimit !== undefined ? { unitLimit: body.unitLimit } : {}),
        ...(body.order !== undefined ? { order: body.order } : {}),
        ...(body.admissionRate !== undefined ? { admissionRate: body.admissionRate } : {}),
      });
      if (!change.ok) {
        if (change.code === 'NOT_FOUND') throw new Problem(404, 'NOT_FOUND', change.detail);
        throw new Problem(409, change.code === 'ORDER_FIXED' ? 'SALE_ORDER_FIXED' : change.code, change.detail);
      }
      deps.log.info('sale changed', { productId: id, change: body });
      await board.refresh();
      return c.json(toSaleDto(await load(id), board), 200);
    },
  );

  /** The lottery's public record: anyone can recompute the order from it. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/draw',
      tags: ['line'],
      summary: "The lottery's record: seed, its digest, and the tickets in the order drawn (public)",
      description:
        'Recompute it: take the tickets listed, sort them by the hex SHA-256 of `<seed>:<ticket id>` (UTF-8), ascending; the ' +
        'first is place 1. Check the seed against `seedSha256`, published before anyone joined. Needs no token: anyone may check a draw.',
      security: [],
      request: { params: ProductIdParam },
      responses: {
        200: { description: 'The draw', content: { 'application/json': { schema: DrawSchema } } },
        ...problems({ 404: 'No such product' }),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const sale = await load(id);
      c.header('Cache-Control', sale.drawn_at ? 'public, max-age=3600' : 'no-store');
      return c.json(await draws.of(sale), 200);
    },
  );
  return app;
}
