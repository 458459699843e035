/**
 * The assignment service's HTTP API: stores (listed with their load, created, opened, closed,
 * resized), idempotent assign / release / complete, and what the reconciler and retention need of
 * the slots. The only way into its tables for every other process (docs/architecture.md, "The
 * assignment boundary").
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Kysely } from 'kysely';
import { pingDb } from '../../db/client.js';
import {
  assignStore,
  completeAssignment,
  createStore,
  findAssignment,
  findStore,
  listActiveAssignments,
  listStores,
  purgeEndedAssignments,
  releaseAssignment,
  toStoreDto,
  updateStore,
} from './repository.js';
import type { AssignmentDatabase } from './schema.js';
import { ASSIGNMENT_KEY_PATTERN } from '../reservation/contract.js';
import type { Logger } from '../../platform/log.js';
import { Problem, problemResponse, toProblem, validationHook } from '../../api/errors.js';
import { CreateStoreSchema, problemDoc, StoreIdParam, StoreSchema, UpdateStoreSchema } from '../../api/schemas.js';

export interface AssignmentAppDeps {
  db: Kysely<AssignmentDatabase>;
  log: Logger;
  /** The bearer token every caller but the health probe must present (ASSIGNMENT_TOKEN: the worker's and the API's). */
  token: string;
}

/** Compares without telling by its timing how much of a guess was right. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

// A reservation id, with `~<round>` when the reservation was re-driven (see assignmentKey).
const ReservationId = z.string().regex(ASSIGNMENT_KEY_PATTERN, 'must be a reservation id (optionally ~round)');
const AssignmentSchema = z
  .object({
    reservationId: z.string(),
    storeId: z.string(),
    storeName: z.string(),
    storeAddress: z.string().nullable(),
    distanceKm: z.number(),
  })
  .openapi('Assignment');
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const params = z.object({ reservationId: ReservationId.openapi({ param: { name: 'reservationId', in: 'path' } }) });
const storeJson = (description: string) => json(StoreSchema, description);
const body = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });
const ActiveSlotsQuery = z.object({
  status: z.literal('ACTIVE'),
  before: z.iso.datetime({ offset: true }),
  after: ReservationId.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(1_000),
});
const ActiveSlot = z.object({ key: z.string(), storeId: z.string().nullable(), updatedAt: z.string() }).openapi('ActiveSlot');

export function createAssignmentApp({ db, log, token }: AssignmentAppDeps) {
  const app = new OpenAPIHono({ defaultHook: validationHook });

  // Slots are claimed and released by the worker, stores read and changed through the API: anyone else is refused.
  app.use('*', async (c, next) => {
    if (c.req.path === '/healthz') return next();
    const header = c.req.header('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!given || !sameToken(given, token)) {
      const refusal = new Problem(401, 'UNAUTHENTICATED', 'the assignment service answers the reservation worker only (Authorization: Bearer <ASSIGNMENT_TOKEN>)', undefined, {
        'WWW-Authenticate': 'Bearer realm="tshop-assignment"',
      });
      return problemResponse(c, refusal);
    }
    return next();
  });

  /** Liveness and database reachability. */
  app.get('/healthz', async (c) => {
    await pingDb(db);
    return c.json({ status: 'ok' });
  });

  /** Every store with its capacity and current load. */
  app.openapi(
    createRoute({ method: 'get', path: '/stores', summary: 'List stores with their load', responses: { 200: json(z.object({ items: z.array(StoreSchema) }), 'Stores') } }),
    async (c) => c.json({ items: (await listStores(db)).map(toStoreDto) }, 200),
  );

  /** One store with its load. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/stores/{id}',
      summary: 'Get a store',
      request: { params: StoreIdParam },
      responses: { 200: storeJson('The store'), 404: problemDoc('No such store') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const store = await findStore(db, id);
      if (!store) throw new Problem(404, 'NOT_FOUND', `no store ${id}`);
      return c.json(toStoreDto(store), 200);
    },
  );

  /** A new store. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/stores',
      summary: 'Create a store',
      request: body(CreateStoreSchema),
      responses: { 201: storeJson('Created'), 409: problemDoc('A store with this id exists') },
    }),
    async (c) => {
      const req = c.req.valid('json');
      const store = await createStore(db, req);
      if (!store) throw new Problem(409, 'ALREADY_EXISTS', `a store ${req.id} exists`);
      log.info('store created', { storeId: store.id });
      return c.json(toStoreDto(store), 201);
    },
  );

  /** Opens or closes a store, or changes its capacity (never below what it holds now). */
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/stores/{id}',
      summary: 'Open/close a store or change its capacity',
      request: { params: StoreIdParam, ...body(UpdateStoreSchema) },
      responses: { 200: storeJson('Updated'), 404: problemDoc('No such store'), 409: problemDoc('Capacity below the reservations it holds') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await updateStore(db, id, c.req.valid('json'));
      if (result.outcome === 'NOT_FOUND') throw new Problem(404, 'NOT_FOUND', `no store ${id}`);
      if (result.outcome === 'BELOW_LOAD') throw new Problem(409, 'CAPACITY_BELOW_LOAD', `store ${id} holds more reservations than that`);
      return c.json(toStoreDto(result.store), 200);
    },
  );

  /** ACTIVE slots unchanged since `before`, a page at a time by key (the reconciler's). */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/assignments',
      summary: 'List active assignments older than a time',
      request: { query: ActiveSlotsQuery },
      responses: { 200: json(z.object({ items: z.array(ActiveSlot), next: z.string().nullable() }), 'A page of active slots, and the key to go on after') },
    }),
    async (c) => {
      const { before, after, limit } = c.req.valid('query');
      const rows = await listActiveAssignments(db, { before: new Date(before), after, limit });
      const items = rows.map((r) => ({ key: r.reservation_id, storeId: r.store_id, updatedAt: r.updated_at.toISOString() }));
      return c.json({ items, next: rows.length === limit ? items.at(-1)!.key : null }, 200);
    },
  );

  /** Forgets released and completed slots that ended before `endedBefore` (retention's). */
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/assignments',
      summary: 'Delete ended assignments older than a time',
      request: { query: z.object({ endedBefore: z.iso.datetime({ offset: true }) }) },
      responses: { 200: json(z.object({ deleted: z.number().int() }), 'How many were deleted') },
    }),
    async (c) => c.json({ deleted: await purgeEndedAssignments(db, new Date(c.req.valid('query').endedBefore)) }, 200),
  );

  /** Assigns the best store near a location (idempotent per reservation). */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/assignments',
      summary: 'Assign a store to a reservation',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.strictObject({ reservationId: ReservationId, latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) }),
            },
          },
        },
      },
      responses: {
        200: json(AssignmentSchema, 'Already assigned (same store as before)'),
        201: json(AssignmentSchema, 'Assigned'),
        409: problemDoc('No open store has free capacity'),
        410: problemDoc('This reservation was released; it is not assigned again'),
      },
    }),
    async (c) => {
      const req = c.req.valid('json');
      const result = await assignStore(db, req);
      if (result.outcome === 'NO_CAPACITY') throw new Problem(409, 'NO_CAPACITY', 'no open store has free capacity');
      if (result.outcome === 'RELEASED') throw new Problem(410, 'RELEASED', `reservation ${req.reservationId} was released`);
      const { assignment } = result;
      if (result.created) log.info('store assigned', { ...assignment });
      return c.json(assignment, result.created ? 201 : 200);
    },
  );

  /** The current assignment of a reservation. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/assignments/{reservationId}',
      summary: 'Get an assignment',
      request: { params },
      responses: {
        200: json(
          z.object({
            reservationId: z.string(),
            storeId: z.string().nullable(),
            status: z.string(),
            distanceKm: z.number().nullable(),
          }),
          'The assignment',
        ),
        404: problemDoc('No assignment'),
      },
    }),
    async (c) => {
      const a = await findAssignment(db, c.req.valid('param').reservationId);
      if (!a) throw new Problem(404, 'NOT_FOUND', 'no assignment for this reservation');
      return c.json({ reservationId: a.reservation_id, storeId: a.store_id, status: a.status, distanceKm: a.distance_km }, 200);
    },
  );

  /** Releases a reservation's store slot (idempotent; also before any assign, which it then prevents). */
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/assignments/{reservationId}',
      summary: 'Release an assignment',
      request: { params },
      responses: { 200: json(z.object({ released: z.boolean() }), 'Released (or nothing to release)') },
    }),
    async (c) => {
      const { reservationId } = c.req.valid('param');
      const result = await releaseAssignment(db, reservationId);
      if (result.released) log.info('assignment released', { reservationId });
      return c.json(result, 200);
    },
  );

  /** The phone was handed over: the slot is freed and the assignment completed. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/assignments/{reservationId}/complete',
      summary: 'Complete an assignment',
      request: { params },
      responses: {
        200: json(z.object({ status: z.literal('COMPLETED') }), 'Completed'),
        404: problemDoc('No assignment'),
        409: problemDoc('The assignment was released'),
      },
    }),
    async (c) => {
      const outcome = await completeAssignment(db, c.req.valid('param').reservationId);
      if (outcome === 'NOT_FOUND') throw new Problem(404, 'NOT_FOUND', 'no assignment for this reservation');
      if (outcome === 'RELEASED') throw new Problem(409, 'RELEASED', 'the assignment was released');
      return c.json({ status: 'COMPLETED' as const }, 200);
    },
  );

  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'Tshop assignment service', version: '0.1.0' } });
  app.notFound((c) => problemResponse(c, new Problem(404, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => problemResponse(c, toProblem(err, log)));
  return app;
}
