import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { findDistrict } from '../../db/data/seoul.js';
import { findProduct } from '../../db/repositories/products.js';
import { listNotifications } from '../../db/repositories/notifications.js';
import { findReservation, getReservationView, listReservations, saveContact } from '../../db/repositories/reservations.js';
import {
  cancelSignal,
  completeSignal,
  isCancellable,
  reservationWorkflowId,
  reserveUpdate,
  SearchAttributes,
  STATUS_LABELS,
  WORKFLOW_TYPE,
  type ReservationInput,
} from '../../shared/contract.js';
import { newReservationId } from '../../shared/ids.js';
import type { reservationWorkflow } from '../../workflows/reservation.js';
import type { AppDeps } from '../deps.js';
import { Problem } from '../errors.js';
import {
  CancelReservationSchema,
  CompleteReservationSchema,
  CreateReservationSchema,
  ListReservationsQuery,
  NotificationSchema,
  PatchReservationSchema,
  problemDoc,
  ReservationIdParam,
  ReservationSchema,
} from '../schemas.js';

type ReservationRow = Awaited<ReturnType<typeof listReservations>>['items'][number];
type ReservationView = NonNullable<Awaited<ReturnType<typeof getReservationView>>>;

const reservationBody = (description: string) => ({ description, content: { 'application/json': { schema: ReservationSchema } } });
const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});

/** Cursors are opaque to clients: base64url of the last row's (created_at, id). */
function encodeCursor(k: { createdAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([k.createdAt, k.id])).toString('base64url');
}
function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through
  }
  throw new Problem(400, 'VALIDATION_FAILED', 'cursor is not one this API issued', { errors: [{ path: 'cursor', message: 'invalid cursor' }] });
}

// How long a reserve request may wait for the stock decision before answering 503.
const DECISION_DEADLINE_MS = 40_000;

export function toReservationDto(v: ReservationRow & { events?: ReservationView['events'] }) {
  return {
    id: v.id,
    workflowId: v.workflow_id,
    status: v.status,
    statusLabel: STATUS_LABELS[v.status],
    product: { id: v.product_id, sku: v.product_sku, name: v.product_name },
    quantity: v.quantity,
    fulfilment: v.fulfilment,
    store: v.agency_id ? { id: v.agency_id, name: v.agency_name ?? v.agency_id, distanceKm: v.agency_distance_km } : null,
    holdUntil: v.hold_until?.toISOString() ?? null,
    customerId: v.customer_id,
    rejectReason: v.reject_reason,
    cancelReason: v.cancel_reason,
    createdAt: v.created_at.toISOString(),
    updatedAt: v.updated_at.toISOString(),
    events: (v.events ?? []).map((e) => ({
      status: e.status,
      label: STATUS_LABELS[e.status],
      at: e.created_at.toISOString(),
      detail: e.detail,
    })),
  };
}

/** Reservations: reserve (synchronous stock decision), read, cancel. */
export function reservationRoutes(deps: AppDeps) {
  const app = new OpenAPIHono();

  const loadView = async (id: string) => {
    const view = await getReservationView(deps.db, id);
    if (!view) throw new Problem(404, 'NOT_FOUND', `no reservation ${id}`);
    return view;
  };

  const requestCancel = async (id: string, reason: string | undefined) => {
    const current = await findReservation(deps.db, id);
    if (!current) throw new Problem(404, 'NOT_FOUND', `no reservation ${id}`);
    if (!isCancellable(current.status)) {
      throw new Problem(409, 'NOT_CANCELLABLE', `reservation ${id} is ${current.status}`, { reservationStatus: current.status });
    }
    await deps.temporal.workflow.getHandle(current.workflow_id).signal(cancelSignal, reason ? { reason } : {});
    deps.log.info('cancel requested', { reservationId: id, workflowId: current.workflow_id });
    return toReservationDto(await loadView(id));
  };

  /** Reserves a phone: answers 201 (stock taken) or 409 (no stock) once the stock decision is made. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['reservations'],
      summary: 'Reserve a phone',
      request: { body: jsonBody(CreateReservationSchema) },
      responses: {
        201: reservationBody('Accepted: stock reserved'),
        400: problemDoc('Invalid request'),
        409: problemDoc('Out of stock; nothing changed'),
        422: problemDoc('Unknown product or district'),
        503: problemDoc('Decision could not be made; nothing reserved'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const product = await findProduct(deps.db, body.productId);
      if (!product) throw new Problem(422, 'UNKNOWN_PRODUCT', `product ${body.productId} does not exist`);
      const { customer } = body;
      const district = customer.district === undefined ? undefined : findDistrict(customer.district);
      if (customer.district !== undefined && !district) {
        throw new Problem(422, 'VALIDATION_FAILED', `"${customer.district}" is not a Seoul district`, {
          errors: [{ path: 'customer.district', message: 'not a Seoul district' }],
        });
      }
      const reservationId = newReservationId();
      const workflowId = reservationWorkflowId(reservationId);
      // Personal data goes to PostgreSQL only; the workflow gets ids and numbers.
      await saveContact(deps.db, {
        reservationId,
        customerId: customer.id,
        name: customer.name ?? null,
        phone: customer.phone ?? null,
        district: district?.ko ?? null,
        latitude: customer.latitude ?? district?.latitude ?? null,
        longitude: customer.longitude ?? district?.longitude ?? null,
      });
      const input: ReservationInput = {
        reservationId,
        productId: body.productId,
        quantity: body.quantity,
        customerId: customer.id,
        fulfilment: body.fulfilment,
        policy: deps.policy,
      };
      const start = new WithStartWorkflowOperation<typeof reservationWorkflow>(WORKFLOW_TYPE, {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        memo: { product: product.name, quantity: body.quantity, fulfilment: body.fulfilment },
        typedSearchAttributes: [
          { key: SearchAttributes.status, value: 'PENDING' },
          { key: SearchAttributes.productId, value: String(body.productId) },
          { key: SearchAttributes.customerId, value: customer.id },
        ],
      });
      const log = deps.log.child({ reservationId, workflowId });
      let state;
      try {
        state = await deps.temporal.withDeadline(Date.now() + DECISION_DEADLINE_MS, () =>
          deps.temporal.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation: start }),
        );
      } catch (err) {
        log.warn('reserve did not complete', { error: err });
        throw err;
      }
      log.info('stock decision', { status: state.status, rejectReason: state.rejectReason });
      if (state.status === 'REJECTED') {
        if (state.rejectReason === 'OUT_OF_STOCK') {
          throw new Problem(409, 'OUT_OF_STOCK', `product ${body.productId} has fewer than ${body.quantity} unit(s) left`, {
            reservationId,
            workflowId,
          });
        }
        throw new Problem(503, 'STOCK_UNAVAILABLE', 'the stock service did not answer in time; nothing was reserved', {
          reservationId,
          workflowId,
        });
      }
      c.header('Location', `/reservations/${reservationId}`);
      return c.json(toReservationDto(await loadView(reservationId)), 201);
    },
  );

  /** Lists reservations from the read view, newest first, filtered and paginated. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['reservations'],
      summary: 'List reservations',
      request: { query: ListReservationsQuery },
      responses: {
        200: {
          description: 'One page of reservations',
          content: { 'application/json': { schema: z.object({ items: z.array(ReservationSchema), nextCursor: z.string().nullable() }) } },
        },
        400: problemDoc('Invalid filter or cursor'),
      },
    }),
    async (c) => {
      const { limit, cursor, ...filter } = c.req.valid('query');
      const page = await listReservations(deps.db, filter, { limit, after: cursor ? decodeCursor(cursor) : undefined });
      return c.json({ items: page.items.map((r) => toReservationDto(r)), nextCursor: page.next ? encodeCursor(page.next) : null }, 200);
    },
  );

  /** Store staff hand the phone over: sends the workflow's `complete` signal. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/complete',
      tags: ['reservations'],
      summary: 'Complete a reservation (phone handed over)',
      request: { params: ReservationIdParam, body: jsonBody(CompleteReservationSchema, false) },
      responses: {
        202: reservationBody('Completion requested; the status becomes COMPLETED'),
        400: problemDoc('Invalid request'),
        404: problemDoc('No such reservation'),
        409: problemDoc('Not confirmed (yet), or already finished'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json') as z.infer<typeof CompleteReservationSchema> | undefined;
      const current = await findReservation(deps.db, id);
      if (!current) throw new Problem(404, 'NOT_FOUND', `no reservation ${id}`);
      if (current.status !== 'CONFIRMED') {
        throw new Problem(409, 'NOT_COMPLETABLE', `reservation ${id} is ${current.status}; only CONFIRMED can be completed`, {
          reservationStatus: current.status,
        });
      }
      await deps.temporal.workflow.getHandle(current.workflow_id).signal(completeSignal, body?.by ? { by: body.by } : {});
      return c.json(toReservationDto(await loadView(id)), 202);
    },
  );

  /** The notifications sent (or queued) to the customer about one reservation. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}/notifications',
      tags: ['reservations'],
      summary: "A reservation's customer notifications",
      request: { params: ReservationIdParam },
      responses: {
        200: { description: 'Notifications, oldest first', content: { 'application/json': { schema: z.object({ items: z.array(NotificationSchema) }) } } },
        400: problemDoc('Invalid id'),
        404: problemDoc('No such reservation'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!(await findReservation(deps.db, id))) throw new Problem(404, 'NOT_FOUND', `no reservation ${id}`);
      const items = (await listNotifications(deps.db, id)).map((n) => ({
        id: n.id,
        kind: n.kind,
        message: { ko: n.message_ko, en: n.message_en },
        createdAt: n.created_at.toISOString(),
        sentAt: n.sent_at?.toISOString() ?? null,
        attempts: n.attempts,
      }));
      return c.json({ items }, 200);
    },
  );

  /** Reads one reservation with its status (and Korean label) and timeline. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['reservations'],
      summary: 'Get a reservation',
      request: { params: ReservationIdParam },
      responses: { 200: reservationBody('The reservation'), 400: problemDoc('Invalid id'), 404: problemDoc('No such reservation') },
    }),
    async (c) => c.json(toReservationDto(await loadView(c.req.valid('param').id)), 200),
  );

  /** Cancels a reservation by sending its workflow the `cancel` signal. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/cancel',
      tags: ['reservations'],
      summary: 'Cancel a reservation',
      request: { params: ReservationIdParam, body: jsonBody(CancelReservationSchema, false) },
      responses: {
        202: reservationBody('Cancellation requested; the status becomes CANCELLED when stock is restored'),
        400: problemDoc('Invalid request'),
        404: problemDoc('No such reservation'),
        409: problemDoc('Already completed, cancelled, expired or rejected'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json') as z.infer<typeof CancelReservationSchema> | undefined;
      return c.json(await requestCancel(c.req.valid('param').id, body?.reason), 202);
    },
  );

  /** The seed's cancel call: `PATCH /reservations/:id {"status":"예약취소"}`. */
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['reservations'],
      summary: 'Cancel a reservation (seed-compatible)',
      request: { params: ReservationIdParam, body: jsonBody(PatchReservationSchema) },
      responses: {
        202: reservationBody('Cancellation requested'),
        400: problemDoc('Invalid request'),
        404: problemDoc('No such reservation'),
        409: problemDoc('Already completed, cancelled, expired or rejected'),
      },
    }),
    async (c) => c.json(await requestCancel(c.req.valid('param').id, c.req.valid('json').reason), 202),
  );
  return app;
}
