import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { listNotifications } from '../notification/repository.js';
import { toNotificationDto } from '../notification/routes.js';
import { claimIdempotencyKey, findIdempotencyKey, releaseIdempotencyKey } from './idempotency.js';
import { getReservationView, listReservations, recordRequest, type PagePosition } from './repository.js';
import { findTicketOfReservation } from '../launch/tickets.js';
import { cancelSignal, completeSignal, isCancellable, reservationWorkflowId, STATUS_LABELS, type CancelRequest, type ReservationInput } from './contract.js';
import type { Principal } from '../../platform/auth.js';
import { newReservationId, reservationIdForKey } from '../../platform/ids.js';
import { canSee, requireRole, type AppEnv } from '../../api/auth.js';
import { customerOf, type Customer } from './customers.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import { wasSignalled } from './signal-history.js';
import type { Line } from '../launch/line.js';
import type { Reserver, ReservationView } from './service.js';
import {
  CancelReservationSchema,
  CompleteReservationSchema,
  CreateReservationSchema,
  IdempotencyHeader,
  jsonBody,
  ListReservationsQuery,
  NotificationSchema,
  PatchReservationSchema,
  problems,
  rateLimited,
  ReservationIdParam,
  ReservationSchema,
  retryLater,
  TicketSchema,
} from '../../api/schemas.js';
import { queueAnswer } from '../launch/routes.js';

type ReservationRow = Omit<Awaited<ReturnType<typeof listReservations>>['items'][number], 'created_micros'>;

const hashOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value ?? null)).digest('hex');

const reservationBody = (description: string) => ({ description, content: { 'application/json': { schema: ReservationSchema } } });
/** Cursors are opaque to clients: base64url of the last row's (created_at, id). */
/**
 * `<microseconds since the epoch>.<reservation id>`: a position in the newest-first order. Every
 * string the contract's pattern admits is one (the page after it), so no cursor is refused.
 */
function encodeCursor(k: PagePosition): string {
  return `${k.createdMicros}.${k.id}`;
}
function decodeCursor(cursor: string): PagePosition {
  const [createdMicros, id] = cursor.split('.') as [string, string];
  return { createdMicros, id };
}

export function toReservationDto(v: ReservationRow & { events?: ReservationView['events'] }) {
  return {
    id: v.id,
    workflowId: v.workflow_id,
    status: v.status,
    statusLabel: STATUS_LABELS[v.status],
    product: { id: v.product_id, sku: v.product_sku, name: v.product_name },
    quantity: v.quantity,
    fulfilment: v.fulfilment,
    store: v.store_id ? { id: v.store_id, name: v.store_name ?? v.store_id, distanceKm: v.store_distance_km, address: v.store_address } : null,
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

/** Reservations: reserve (synchronous stock decision), read, cancel, complete. */
export function reservationRoutes(deps: AppDeps, { reserver, line }: { reserver: Reserver; line: Line }) {
  const app = new OpenAPIHono<AppEnv>();

  /** The reservation if the caller may see it; one they may not see is as good as missing. */
  const loadVisible = async (principal: Principal, id: string) => {
    const view = await getReservationView(deps.db, id);
    if (!view || !canSee(principal, view)) throw new Problem(404, 'NOT_FOUND', `no reservation ${id}`);
    return view;
  };

  /**
   * Signals a reservation's workflow. One that has ended while the read model still shows the
   * reservation open (an operator's Terminate, a failure) cannot take it: the reconciler settles it.
   */
  const signalWorkflow = async <T,>(view: ReservationView & { workflow_id: string }, signal: SignalDefinition<[T?]>, arg: T) => {
    try {
      await deps.temporal.workflow.getHandle(view.workflow_id).signal(signal, arg);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      throw new Problem(409, 'WORKFLOW_ENDED', `reservation ${view.id}'s workflow has ended; the reconciler settles it within minutes`, {
        reservationStatus: view.status,
      });
    }
  };

  /** A recorded rejection, as the reserve call answers it (first time or replayed). */
  const rejection = (view: ReservationView) => {
    const ids = { reservationId: view.id, ...(view.workflow_id ? { workflowId: view.workflow_id } : {}) };
    return view.reject_reason === 'OUT_OF_STOCK'
      ? new Problem(409, 'OUT_OF_STOCK', `product ${view.product_id} has fewer than ${view.quantity} unit(s) left`, ids)
      : new Problem(503, 'STOCK_UNAVAILABLE', 'the stock service did not answer in time; nothing was reserved', ids);
  };

  const requestCancel = async (principal: Principal, id: string, reason: string | undefined, key: string | undefined) => {
    const current = await loadVisible(principal, id);
    const keyed = key ? { scope: `cancel:${id}`, principal: principal.sub, key, requestHash: hashOf({ reason }), resourceId: id } : undefined;
    const earlier = keyed ? await findIdempotencyKey(deps.db, keyed) : undefined;
    if (earlier?.outcome === 'MISMATCH') throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    if (earlier?.outcome === 'REPLAY') return toReservationDto(current);
    // The keyed request's name in the signal: a hash, so neither the key nor who sent it is in history.
    const request = keyed ? hashOf(keyed) : undefined;
    const sentByThis = (arg: unknown) => (arg as CancelRequest | undefined)?.request === request;
    const keep = async () => {
      if (keyed && (await claimIdempotencyKey(deps.db, keyed)).outcome === 'MISMATCH') {
        throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
      }
      return toReservationDto(current);
    };
    // A reservation without a workflow was refused on arrival: it is REJECTED, never cancellable.
    if (!isCancellable(current.status) || !current.workflow_id) {
      // The first attempt's signal went out but its answer and key were lost (the API killed, or the
      // database gone, before the key was kept): the cancel it sent is its own, answered as then.
      if (request && current.workflow_id && (await wasSignalled(deps.temporal, current.workflow_id, cancelSignal.name, sentByThis))) return keep();
      throw new Problem(409, 'NOT_CANCELLABLE', `reservation ${id} is ${current.status}`, { reservationStatus: current.status });
    }
    // The reason is the customer's free text: it stays in PostgreSQL, out of workflow history.
    await recordRequest(deps.db, { reservationId: id, action: 'cancel', by: principal.sub, reason: reason ?? null });
    await signalWorkflow({ ...current, workflow_id: current.workflow_id }, cancelSignal, request ? { request } : {});
    // The key stands only for a cancel that was sent, so it is kept after the signal: a refusal, a
    // failure or a crash before this line leaves it unused, and the repeat is tried again (a second
    // cancel signal changes nothing; one that finds the reservation ended finds its signal above).
    const answer = await keep();
    deps.log.info('cancel requested', { reservationId: id, workflowId: current.workflow_id, by: principal.role });
    return answer;
  };

  type Keyed = { principal: string; key: string; requestHash: string };

  /**
   * Reserves for a customer: admission, then (admitted) the stock decision, or (people wait, the
   * desk meters, the system is busy) a place in line. A refusal that changed nothing gives its
   * Idempotency-Key back, so the customer's repeat is a new attempt.
   */
  const reserve = async (input: ReservationInput, customer: Customer, keyed: (Keyed & { repeat: boolean }) | undefined, log: ReturnType<AppDeps['log']['child']>) => {
    const contact = { ...customer.contact, reservationId: input.reservationId };
    let entry;
    try {
      entry = await reserver.enter(input, contact, customer.holders, 'direct', keyed?.repeat);
    } catch (err) {
      if (keyed && err instanceof Problem) await releaseIdempotencyKey(deps.db, { scope: 'reserve', principal: keyed.principal, key: keyed.key });
      throw err;
    }
    if (entry.kind === 'sold-out') {
      log.info('stock decision', { status: 'REJECTED', rejectReason: 'OUT_OF_STOCK', soldOutOnArrival: true });
      throw new Problem(409, 'OUT_OF_STOCK', `product ${input.productId} has fewer than ${input.quantity} unit(s) left`, entry.reservationId ? { reservationId: entry.reservationId } : {});
    }
    if (entry.kind !== 'admitted') return { queued: true as const };
    try {
      return { view: await reserver.decide(input, entry.productName, Boolean(keyed), log) };
    } catch (err) {
      // Not started, or not known to be: an unkeyed request is not repeated as itself, so its admission ends here.
      if (!keyed && !(err instanceof Problem)) await reserver.abandon(input.reservationId);
      throw err;
    }
  };

  /** Takes a place in line for a request that could not be decided at once. */
  const enqueue = async (input: ReservationInput, customer: Customer, keyed: Keyed | undefined) => {
    try {
      return await line.enqueue({ ...customer.contact, reservationId: input.reservationId, productId: input.productId, phoneKey: customer.phoneKey, quantity: input.quantity, fulfilment: input.fulfilment });
    } catch (err) {
      if (keyed && err instanceof Problem) await releaseIdempotencyKey(deps.db, { scope: 'reserve', principal: keyed.principal, key: keyed.key });
      throw err;
    }
  };

  /** Reserves a phone: 201 (stock taken) or 409 (no stock) once the stock decision is made, or 202 with a place in line. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['reservations'],
      summary: 'Reserve a phone (customer; store staff or admin for a walk-in customer)',
      description:
        'When nobody waits in the product\'s line and the system keeps up, the stock decision is made before the answer: 201 when ' +
        'stock was reserved, 409 OUT_OF_STOCK when the product is sold out (recorded as a REJECTED reservation; the customer is told ' +
        'once per product). When people wait, the launch desk meters admission, or more are arriving than decisions complete, the ' +
        'answer is 202 with a place in line (a Ticket: follow it with GET /tickets/{id} after `Retry-After`, or on GET /events). ' +
        'Before the opening: 409 SALE_NOT_OPEN naming it (join the line with POST /products/{id}/tickets). Units per customer and per ' +
        'phone number are limited by the sale (409 LIMIT_REACHED). Writes are rate-limited (429, with RateLimit headers).',
      request: { headers: IdempotencyHeader, body: jsonBody(CreateReservationSchema) },
      responses: {
        201: reservationBody('Accepted: stock reserved'),
        202: {
          description: 'A place in line: the answer comes when its turn does',
          headers: {
            Location: { description: 'The ticket', schema: { type: 'string' as const } },
            'Retry-After': { description: 'Seconds until the ticket is worth asking about again', schema: { type: 'integer' as const } },
          },
          content: { 'application/json': { schema: TicketSchema } },
        },
        ...problems({
          403: 'FORBIDDEN: not your own; PHONE_NOT_VERIFIED: your token carries no verified phone number',
          409:
            'OUT_OF_STOCK: sold out (recorded as a rejected reservation); SALE_NOT_OPEN (with `opensAt` and Retry-After); SALE_CLOSED; ' +
            'LIMIT_REACHED (with `unitLimit`); ALREADY_QUEUED: you (or your number) already have a place in this line (`ticketId`)',
          422:
            'UNKNOWN_PRODUCT; IDEMPOTENCY_KEY_REUSED: the key was used with a different body; CONTACT_FROM_IDENTITY: a customer sent a name or phone; ' +
            'CUSTOMER_REQUIRED: store staff sent neither customer.id nor customer.phone',
          429: rateLimited,
          503: retryLater(
            'STOCK_UNAVAILABLE: the decision could not be made, nothing reserved; DECISION_PENDING: not made within 40 s but still coming ' +
              '(repeat with the same Idempotency-Key or read the reservation)',
          ),
        }, { body: true }),
      },
    }),
    async (c) => {
      const principal = requireRole(c, 'customer', 'admin', 'store');
      const body = c.req.valid('json');
      const customer = await customerOf(deps, principal, body.customer);
      const key = c.req.valid('header')['idempotency-key'];
      // With a key, the key becomes the reservation (and so workflow) id: Temporal itself refuses a second start.
      const reservationId = key ? reservationIdForKey(principal.sub, key) : newReservationId();
      const workflowId = reservationWorkflowId(reservationId);
      c.set('reservationId', reservationId);
      const log = deps.log.child({ reservationId, workflowId });
      const input: ReservationInput = {
        reservationId,
        productId: body.productId,
        quantity: body.quantity,
        customerId: customer.customerId,
        fulfilment: body.fulfilment,
        policy: deps.policy,
        notifierTaskQueue: deps.notifierTaskQueue,
      };
      const keyed = key ? { principal: principal.sub, key, requestHash: hashOf(body), repeat: false } : undefined;
      if (keyed) {
        const claim = await claimIdempotencyKey(deps.db, { scope: 'reserve', ...keyed, resourceId: reservationId });
        if (claim.outcome === 'MISMATCH') throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different reservation');
        keyed.repeat = claim.outcome === 'REPLAY';
        // A repeat is answered from what the first request left: its reservation, or its place in line.
        if (claim.outcome === 'REPLAY') {
          const recorded = await getReservationView(deps.db, reservationId);
          if (recorded) return answer(c, recorded);
          const ticket = await findTicketOfReservation(deps.db, reservationId);
          if (ticket) return queueAnswer(c, line, ticket);
        }
      }
      const reserved = await reserve(input, customer, keyed, log);
      if ('queued' in reserved) return queueAnswer(c, line, await enqueue(input, customer, keyed));
      if (!reserved.view) throw new Problem(503, 'STOCK_UNAVAILABLE', 'the stock decision was not recorded; nothing was reserved', { reservationId, workflowId });
      return answer(c, reserved.view);
    },
  );

  /** A reservation as the reserve call answers it: 201, or its rejection. */
  const answer = (c: Parameters<Parameters<typeof app.openapi>[1]>[0], view: ReservationView) => {
    if (view.status === 'REJECTED') throw rejection(view);
    c.header('Location', `/reservations/${view.id}`);
    return c.json(toReservationDto(view), 201);
  };

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
        ...problems({ 400: 'Invalid filter or cursor' }),
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const { limit, cursor, ...filter } = c.req.valid('query');
      // Customers see their own reservations, store staff their store's: a wider filter is refused.
      if (principal.role === 'customer') {
        if (filter.customerId !== undefined && filter.customerId !== principal.sub) throw new Problem(403, 'FORBIDDEN', 'customers list their own reservations only');
        filter.customerId = principal.sub;
      } else if (principal.role === 'store') {
        if (filter.storeId !== undefined && filter.storeId !== principal.storeId) throw new Problem(403, 'FORBIDDEN', "store staff list their store's reservations only");
        filter.storeId = principal.storeId;
      }
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
      summary: 'Complete a reservation: phone handed over (store staff, admin)',
      request: { params: ReservationIdParam, body: jsonBody(CompleteReservationSchema, false) },
      responses: {
        202: reservationBody('Completion requested; the status becomes COMPLETED'),
        ...problems({ 404: 'No such reservation (at your store)', 409: 'NOT_COMPLETABLE: not confirmed (yet), or already finished; HOLD_ENDED: its hold period is over (it expires)' }, { body: true }),
      },
    }),
    async (c) => {
      const principal = requireRole(c, 'store', 'admin');
      const { id } = c.req.valid('param');
      const body = c.req.valid('json') as z.infer<typeof CompleteReservationSchema> | undefined;
      const current = await loadVisible(principal, id);
      if (current.status !== 'CONFIRMED' || !current.workflow_id) {
        throw new Problem(409, 'NOT_COMPLETABLE', `reservation ${id} is ${current.status}; only CONFIRMED can be completed`, {
          reservationStatus: current.status,
        });
      }
      // Past its hold the workflow expires it whatever the read model shows yet: say so, not 202.
      if (current.hold_until && current.hold_until.getTime() <= Date.now()) {
        throw new Problem(409, 'HOLD_ENDED', `reservation ${id}'s hold ended at ${current.hold_until.toISOString()}; it expires and the stock goes back`, {
          reservationStatus: current.status,
          holdUntil: current.hold_until.toISOString(),
        });
      }
      // Who handed it over is kept in PostgreSQL, not in the signal (and so not in workflow history).
      await recordRequest(deps.db, { reservationId: id, action: 'complete', by: body?.by ?? principal.sub });
      await signalWorkflow({ ...current, workflow_id: current.workflow_id }, completeSignal, {});
      return c.json(toReservationDto(current), 202);
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
        ...problems({ 404: 'No such reservation' }),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await loadVisible(c.get('principal'), id);
      const items = (await listNotifications(deps.db, id)).map(toNotificationDto);
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
      responses: { 200: reservationBody('The reservation'), ...problems({ 404: 'No such reservation' }) },
    }),
    async (c) => c.json(toReservationDto(await loadVisible(c.get('principal'), c.req.valid('param').id)), 200),
  );

  /** Cancels a reservation by sending its workflow the `cancel` signal. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{id}/cancel',
      tags: ['reservations'],
      summary: 'Cancel a reservation (its customer, admin)',
      request: { params: ReservationIdParam, headers: IdempotencyHeader, body: jsonBody(CancelReservationSchema, false) },
      responses: {
        202: reservationBody('Cancellation requested; the status becomes CANCELLED when stock is restored'),
        ...problems({ 404: 'No such reservation', 409: 'Already completed, cancelled, expired or rejected', 422: 'Idempotency-Key reused with a different body' }, { body: true }),
      },
    }),
    async (c) => {
      const principal = requireRole(c, 'customer', 'admin');
      const body = c.req.valid('json') as z.infer<typeof CancelReservationSchema> | undefined;
      return c.json(await requestCancel(principal, c.req.valid('param').id, body?.reason, c.req.valid('header')['idempotency-key']), 202);
    },
  );

  /** The seed's cancel call: `PATCH /reservations/:id {"status":"예약취소"}`. */
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      tags: ['reservations'],
      summary: 'Cancel a reservation (seed-compatible)',
      request: { params: ReservationIdParam, headers: IdempotencyHeader, body: jsonBody(PatchReservationSchema) },
      responses: {
        202: reservationBody('Cancellation requested'),
        ...problems({ 404: 'No such reservation', 409: 'Already completed, cancelled, expired or rejected', 422: 'Idempotency-Key reused with a different body' }, { body: true }),
      },
    }),
    async (c) => {
      const principal = requireRole(c, 'customer', 'admin');
      const { reason } = c.req.valid('json');
      return c.json(await requestCancel(principal, c.req.valid('param').id, reason, c.req.valid('header')['idempotency-key']), 202);
    },
  );
  return app;
}
