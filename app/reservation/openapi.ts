/**
 * The reservation routes as the OpenAPI document states them: paths, parameters, bodies and
 * answers. routes.ts gives each its handler.
 */
import { createRoute, z } from '@hono/zod-openapi';
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

const reservationBody = (description: string) => ({ description, content: { 'application/json': { schema: ReservationSchema } } });

/** Reserves a phone: 201 (stock taken) or 409 (no stock) once the stock decision is made, or 202 with a place in line. */
export const reserveRoute = createRoute({
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
});

/** Lists reservations from the read view, newest first, filtered and paginated. */
export const listRoute = createRoute({
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
});

/** Store staff hand the phone over: sends the workflow's `complete` signal. */
export const completeRoute = createRoute({
  method: 'post',
  path: '/{id}/complete',
  tags: ['reservations'],
  summary: 'Complete a reservation: phone handed over (store staff, admin)',
  request: { params: ReservationIdParam, body: jsonBody(CompleteReservationSchema, false) },
  responses: {
    202: reservationBody('Completion requested; the status becomes COMPLETED'),
    ...problems({ 404: 'No such reservation (at your store)', 409: 'NOT_COMPLETABLE: not confirmed (yet), or already finished; HOLD_ENDED: its hold period is over (it expires)' }, { body: true }),
  },
});

/** The notifications sent (or queued) to the customer about one reservation. */
export const notificationsRoute = createRoute({
  method: 'get',
  path: '/{id}/notifications',
  tags: ['reservations'],
  summary: "A reservation's customer notifications",
  request: { params: ReservationIdParam },
  responses: {
    200: { description: 'Notifications, oldest first', content: { 'application/json': { schema: z.object({ items: z.array(NotificationSchema) }) } } },
    ...problems({ 404: 'No such reservation' }),
  },
});

/** Reads one reservation with its status (and Korean label) and timeline. */
export const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['reservations'],
  summary: 'Get a reservation',
  request: { params: ReservationIdParam },
  responses: { 200: reservationBody('The reservation'), ...problems({ 404: 'No such reservation' }) },
});

/** Cancels a reservation by sending its workflow the `cancel` signal. */
export const cancelRoute = createRoute({
  method: 'post',
  path: '/{id}/cancel',
  tags: ['reservations'],
  summary: 'Cancel a reservation (its customer, admin)',
  request: { params: ReservationIdParam, headers: IdempotencyHeader, body: jsonBody(CancelReservationSchema, false) },
  responses: {
    202: reservationBody('Cancellation requested; the status becomes CANCELLED when stock is restored'),
    ...problems({ 404: 'No such reservation', 409: 'Already completed, cancelled, expired or rejected', 422: 'Idempotency-Key reused with a different body' }, { body: true }),
  },
});

/** The seed's cancel call: `PATCH /reservations/:id {"status":"예약취소"}`. */
export const patchRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['reservations'],
  summary: 'Cancel a reservation (seed-compatible)',
  request: { params: ReservationIdParam, headers: IdempotencyHeader, body: jsonBody(PatchReservationSchema) },
  responses: {
    202: reservationBody('Cancellation requested'),
    ...problems({ 404: 'No such reservation', 409: 'Already completed, cancelled, expired or rejected', 422: 'Idempotency-Key reused with a different body' }, { body: true }),
  },
});
