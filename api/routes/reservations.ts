import { createHash } from 'node:crypto';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import { findDistrict } from '../../db/data/seoul.js';
import { findProduct } from '../../db/repositories/products.js';
import { listNotifications, outboxEntry } from '../../db/repositories/notifications.js';
import { toNotificationDto } from './notifications.js';
import { groupWriter } from '../../db/group-writer.js';
import { claimIdempotencyKey, findIdempotencyKey, releaseIdempotencyKey } from '../../db/repositories/idempotency.js';
import { admit } from '../../db/repositories/admission.js';
import {
  getReservationView,
  insertRefusals,
  lastKnownLocation,
  listReservations,
  readModelRow,
  recordRequest,
  type PagePosition,
  type ContactRow,
  type Refusal,
} from '../../db/repositories/reservations.js';
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
  type ReservationState,
} from '../../shared/contract.js';
import type { Principal } from '../../shared/auth.js';
import { newReservationId, reservationIdForKey } from '../../shared/ids.js';
import type { reservationWorkflow } from '../../workflows/reservation.js';
import { canSee, requireRole, type AppEnv } from '../auth.js';
import type { AdmissionPolicy, AppDeps } from '../deps.js';
import type { Logger } from '../../shared/log.js';
import { Problem } from '../errors.js';
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
  ReservationIdParam,
  retryLater,
  ReservationSchema,
} from '../schemas.js';

type ReservationRow = Omit<Awaited<ReturnType<typeof listReservations>>['items'][number], 'created_micros'>;
type ReservationView = NonNullable<Awaited<ReturnType<typeof getReservationView>>>;

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

// How long a reserve request may wait for the stock decision before answering 503 (AppDeps can say otherwise).
const DECISION_DEADLINE_MS = 40_000;
const DEFAULT_ADMISSION: AdmissionPolicy = { leaseMs: 10_000, retryAfterSeconds: 1, soldOutMemoryMs: 250 };

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

/**
 * Products this process found with no stock at all, for a moment: a launch's rush for a sold-out
 * phone is refused without a database read per request. Only refusals come from here, so it can
 * never let in more than the stock; a unit given back is offered again once the memory lapses.
 */
function soldOutMemory(ms: number) {
  const seen = new Map<number, { product: { id: number; name: string }; until: number }>();
  return {
    remember(a: { product: { id: number; name: string }; stock: number }) {
      if (ms > 0 && a.stock === 0) seen.set(a.product.id, { product: a.product, until: Date.now() + ms });
    },
    recall(productId: number) {
      const known = seen.get(productId);
      if (!known) return undefined;
      if (known.until > Date.now()) return { outcome: 'SOLD_OUT' as const, product: known.product, stock: 0 };
      seen.delete(productId);
      return undefined;
    },
  };
}

/** Reservations: reserve (synchronous stock decision), read, cancel, complete. */
export function reservationRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  const admissionPolicy = deps.admission ?? DEFAULT_ADMISSION;

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
    // A reservation without a workflow was refused on arrival: it is REJECTED, never cancellable.
    if (!isCancellable(current.status) || !current.workflow_id) {
      throw new Problem(409, 'NOT_CANCELLABLE', `reservation ${id} is ${current.status}`, { reservationStatus: current.status });
    }
    // The reason is the customer's free text: it stays in PostgreSQL, out of workflow history.
    await recordRequest(deps.db, { reservationId: id, action: 'cancel', by: principal.sub, reason: reason ?? null });
    await signalWorkflow({ ...current, workflow_id: current.workflow_id }, cancelSignal, {});
    // The key stands only for a cancel that was sent, so it is kept after the signal: a refusal, a
    // failure or a crash before this line leaves it unused, and the repeat is tried again (a second
    // cancel signal changes nothing).
    if (keyed && (await claimIdempotencyKey(deps.db, keyed)).outcome === 'MISMATCH') {
      throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    }
    deps.log.info('cancel requested', { reservationId: id, workflowId: current.workflow_id, by: principal.role });
    return toReservationDto(current);
  };

  type Entry = { kind: 'admitted'; productName: string } | { kind: 'sold-out' } | { kind: 'replay' };

  type Keyed = { principal: string; key: string; requestHash: string };
  const soldOut = soldOutMemory(admissionPolicy.soldOutMemoryMs);
  // Sold-out refusals of many customers at once are recorded together (db/group-writer.ts).
  const recordRefusal = groupWriter<Refusal>((refusals) => insertRefusals(deps.db, refusals));

  /**
   * Lets a request in, or not: claims its Idempotency-Key (a repeat is answered from the first
   * request), then its units, saving the contact with them. Sold out: the rejection is recorded
   * with the contact and the customer's notification. Unknown product or held: nothing is kept,
   * the key neither, so the customer's repeat is a new attempt.
   */
  const admitRequest = async (input: ReservationInput, contact: ContactRow, keyed?: Keyed): Promise<Entry> => {
    if (keyed) {
      const claim = await claimIdempotencyKey(deps.db, { scope: 'reserve', ...keyed, resourceId: input.reservationId });
      if (claim.outcome === 'MISMATCH') throw new Problem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different reservation');
      if (claim.outcome === 'REPLAY') return { kind: 'replay' };
    }
    try {
      return await enter(input, contact);
    } catch (err) {
      if (keyed && err instanceof Problem && (err.code === 'STOCK_HELD' || err.code === 'UNKNOWN_PRODUCT')) {
        await releaseIdempotencyKey(deps.db, { scope: 'reserve', principal: keyed.principal, key: keyed.key });
      }
      throw err;
    }
  };

  const enter = async (input: ReservationInput, contact: ContactRow): Promise<Entry> => {
    const claim = { reservationId: input.reservationId, productId: input.productId, quantity: input.quantity, leaseMs: admissionPolicy.leaseMs };
    const admission = soldOut.recall(input.productId) ?? (await admit(deps.db, claim, contact));
    if (admission.outcome === 'SOLD_OUT') soldOut.remember(admission);
    switch (admission.outcome) {
      case 'UNKNOWN_PRODUCT':
        throw new Problem(422, 'UNKNOWN_PRODUCT', `product ${input.productId} does not exist`);
      case 'HELD':
        throw new Problem(
          503,
          'STOCK_HELD',
          `every unit of product ${input.productId} left is held by reservations being decided right now; nothing was recorded. ` +
            `Repeat the request in ${admissionPolicy.retryAfterSeconds} s: a unit comes free if a decision fails or a reservation is cancelled`,
          { retryAfterSeconds: admissionPolicy.retryAfterSeconds },
          { 'Retry-After': String(admissionPolicy.retryAfterSeconds) },
        );
      case 'SOLD_OUT': {
        // Refused without a workflow: the notifier's drain tells the customer.
        const row = { ...readModelRow(input, 1), workflowId: null, status: 'REJECTED' as const, rejectReason: 'OUT_OF_STOCK' };
        const notification = outboxEntry('REJECTED', { productName: admission.product.name, status: row.status, fulfilment: row.fulfilment }, 'drain');
        await recordRefusal({ row, contact, notification });
        return { kind: 'sold-out' };
      }
      case 'ADMITTED':
        return { kind: 'admitted', productName: admission.product.name };
    }
  };

  /** Starts the workflow (or joins it, for a keyed repeat) and waits for its stock decision. */
  const decide = async (input: ReservationInput, productName: string | undefined, keyed: boolean, log: Logger) => {
    const { reservationId } = input;
    const workflowId = reservationWorkflowId(reservationId);
    const product = productName ?? (await findProduct(deps.db, input.productId))?.name ?? `product ${input.productId}`;
    const start = new WithStartWorkflowOperation<typeof reservationWorkflow>(WORKFLOW_TYPE, {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [input],
      // With a key, a concurrent repeat joins the first request's workflow and update.
      workflowIdConflictPolicy: keyed ? 'USE_EXISTING' : 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: { product, quantity: input.quantity, fulfilment: input.fulfilment },
      // Shown at the top of the Web UI's workflow page; ids and product only, never contact data.
      staticSummary: `${product} ×${input.quantity} · ${input.fulfilment} · customer ${input.customerId}`,
      typedSearchAttributes: [
        { key: SearchAttributes.status, value: 'PENDING' },
        { key: SearchAttributes.productId, value: String(input.productId) },
        { key: SearchAttributes.customerId, value: input.customerId },
      ],
    });
    try {
      const state = await deps.temporal.withDeadline(Date.now() + (deps.decisionDeadlineMs ?? DECISION_DEADLINE_MS), async () => {
        try {
          return await deps.temporal.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation: start, updateId: 'reserve' });
        } catch (err) {
          if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) throw err;
        }
        // The server ends one long poll after about 20 s (no worker free, say): wait on, up to our deadline.
        return deps.temporal.workflow.getHandle(workflowId).getUpdateHandle<ReservationState>('reserve').result();
      });
      log.info('stock decision', { status: state.status, rejectReason: state.rejectReason });
    } catch (err) {
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        log.warn('stock decision still pending at the deadline', { error: err });
        throw new Problem(503, 'DECISION_PENDING', 'the stock decision is taking longer than usual and will still be made: repeat the request with the same Idempotency-Key, or read the reservation', {
          reservationId,
          workflowId,
        });
      }
      // A keyed repeat that arrives after the workflow closed: the recorded decision answers it.
      if (!(keyed && err instanceof WorkflowExecutionAlreadyStartedError)) {
        log.warn('reserve did not complete', { error: err });
        throw err;
      }
    }
    return getReservationView(deps.db, reservationId);
  };

  /** Reserves a phone: answers 201 (stock taken) or 409 (no stock) once the stock decision is made. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['reservations'],
      summary: 'Reserve a phone (customer, or admin on behalf of one)',
      description:
        'The stock decision is made before the answer: 201 when stock was reserved, 409 OUT_OF_STOCK when the product is sold out ' +
        '(recorded as a REJECTED reservation; the customer is notified). While every unit left is held by reservations still being ' +
        'decided, the answer is 503 STOCK_HELD with `Retry-After`: nothing was recorded, and repeating the request after that many ' +
        'seconds gets a unit if a decision fails or a reservation is cancelled, else 409. ' +
        'Without `customer`, a customer token reserves for itself from its last known location (or Seoul City Hall).',
      request: { headers: IdempotencyHeader, body: jsonBody(CreateReservationSchema) },
      responses: {
        201: reservationBody('Accepted: stock reserved'),
        ...problems({
          409: 'OUT_OF_STOCK: sold out; recorded as a rejected reservation',
          422: 'UNKNOWN_PRODUCT: no such product; IDEMPOTENCY_KEY_REUSED: the key was used with a different body',
          503: retryLater(
            'STOCK_HELD: every unit left is held by reservations being decided; nothing recorded, repeat after `Retry-After` seconds. ' +
              'STOCK_UNAVAILABLE: the decision could not be made, nothing reserved; DECISION_PENDING: not made within 40 s but still coming ' +
              '(repeat with the same Idempotency-Key or read the reservation)',
          ),
        }, { body: true }),
      },
    }),
    async (c) => {
      const principal = requireRole(c, 'customer', 'admin');
      const body = c.req.valid('json');
      const given = body.customer;
      if (principal.role === 'customer' && given?.id !== undefined && given.id !== principal.sub) {
        throw new Problem(403, 'FORBIDDEN', 'customers reserve for themselves only');
      }
      // Without customer.id a reservation is the caller's own, whoever the caller is.
      const customerId = principal.role === 'customer' ? principal.sub : (given?.id ?? principal.sub);
      // Every name the contract admits is a district's.
      const district = given?.district === undefined ? undefined : findDistrict(given.district);

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
        customerId,
        fulfilment: body.fulfilment,
        policy: deps.policy,
        notifierTaskQueue: deps.notifierTaskQueue,
      };
      // Personal data goes to PostgreSQL only; the workflow gets ids and numbers.
      const known = given?.latitude === undefined && !district ? await lastKnownLocation(deps.db, customerId) : undefined;
      const contact: ContactRow = {
        reservationId,
        customerId,
        name: given?.name ?? known?.name ?? null,
        phone: given?.phone ?? known?.phone ?? null,
        district: district?.ko ?? known?.district ?? null,
        latitude: given?.latitude ?? district?.latitude ?? known?.latitude ?? null,
        longitude: given?.longitude ?? district?.longitude ?? known?.longitude ?? null,
      };

      const entry = await admitRequest(input, contact, key ? { principal: principal.sub, key, requestHash: hashOf(body) } : undefined);
      if (entry.kind === 'sold-out') {
        log.info('stock decision', { status: 'REJECTED', rejectReason: 'OUT_OF_STOCK', soldOutOnArrival: true });
        throw new Problem(409, 'OUT_OF_STOCK', `product ${input.productId} has fewer than ${input.quantity} unit(s) left`, { reservationId });
      }
      // A repeat whose decision is recorded is answered from the record, as the first time.
      const recorded = entry.kind === 'replay' ? await getReservationView(deps.db, reservationId) : undefined;
      const view = recorded ?? (await decide(input, entry.kind === 'admitted' ? entry.productName : undefined, Boolean(key), log));
      if (!view) throw new Problem(503, 'STOCK_UNAVAILABLE', 'the stock decision was not recorded; nothing was reserved', { reservationId, workflowId });
      if (view.status === 'REJECTED') throw rejection(view);
      c.header('Location', `/reservations/${reservationId}`);
      return c.json(toReservationDto(view), 201);
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
        ...problems({ 400: 'Invalid filter or cursor' }),
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const { limit, cursor, agencyId, ...filter } = c.req.valid('query');
      filter.storeId ??= agencyId; // its deprecated name
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
