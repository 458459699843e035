/** Request and response schemas: they validate input and document the API. */
import { z } from '@hono/zod-openapi';
import { FULFILMENTS, RESERVATION_ID_PATTERN, RESERVATION_STATUSES } from '../shared/contract.js';

export const ProductIdParam = z.object({
  id: z.coerce.number().int().positive().openapi({ param: { name: 'id', in: 'path' }, example: 1 }),
});

export const ReservationIdParam = z.object({
  id: z
    .string()
    .toUpperCase()
    .regex(RESERVATION_ID_PATTERN, 'must be a 12-character reservation id')
    .openapi({ param: { name: 'id', in: 'path' }, example: '7K3F9Q2M4XTB' }),
});

export const ProductSchema = z
  .object({
    id: z.number().int(),
    sku: z.string(),
    name: z.string(),
    brand: z.string(),
    priceKrw: z.number().int(),
    availableStock: z.number().int(),
  })
  .openapi('Product');

const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);

export const CustomerSchema = z
  .strictObject({
    id: z.string().trim().min(1).max(64).regex(/^[\w.@:-]+$/, 'letters, digits and . _ @ : - only'),
    name: z.string().trim().min(1).max(100).optional(),
    phone: z.string().trim().regex(/^\+?[0-9 -]{7,20}$/, 'a phone number').optional(),
    district: z.string().trim().min(1).max(40).optional(),
    latitude: Latitude.optional(),
    longitude: Longitude.optional(),
  })
  .refine((c) => (c.latitude === undefined) === (c.longitude === undefined), {
    message: 'latitude and longitude go together',
    path: ['latitude'],
  })
  .openapi('Customer');

export const CreateReservationSchema = z
  .strictObject({
    productId: z.union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]{0,8}$/).transform(Number)]),
    quantity: z.number().int().min(1).max(2).default(1),
    fulfilment: z.enum(FULFILMENTS).default('PICKUP').openapi({ description: 'PICKUP at the assigned store, or DELIVERY' }),
    customer: CustomerSchema,
  })
  .openapi('CreateReservation', {
    example: { productId: 1, quantity: 1, fulfilment: 'PICKUP', customer: { id: 'c-1', name: '홍길동', phone: '010-1234-5678', district: '강남구' } },
  });

export const CompleteReservationSchema = z
  .strictObject({ by: z.string().trim().min(1).max(64).optional().openapi({ description: 'Staff member who handed the phone over' }) })
  .openapi('CompleteReservation');

export const ListReservationsQuery = z.object({
  customerId: z.string().trim().min(1).max(64).optional(),
  status: z.enum(RESERVATION_STATUSES).optional(),
  productId: z.coerce.number().int().positive().optional(),
  agencyId: z.string().trim().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().openapi({ description: 'Opaque: the `nextCursor` of the previous page' }),
});

export const CancelReservationSchema = z
  .strictObject({ reason: z.string().trim().max(200).optional() })
  .openapi('CancelReservation');

export const PatchReservationSchema = z
  .strictObject({
    status: z.enum(['예약취소', 'CANCELLED']).openapi({ description: 'Only cancellation is accepted' }),
    reason: z.string().trim().max(200).optional(),
  })
  .openapi('PatchReservation');

const StatusSchema = z.enum(RESERVATION_STATUSES);
const Label = z.object({ ko: z.string(), en: z.string() });

export const ReservationSchema = z
  .object({
    id: z.string(),
    workflowId: z.string(),
    status: StatusSchema,
    statusLabel: Label,
    product: z.object({ id: z.number().int(), sku: z.string(), name: z.string() }),
    quantity: z.number().int(),
    fulfilment: z.enum(FULFILMENTS),
    store: z.object({ id: z.string(), name: z.string(), distanceKm: z.number().nullable() }).nullable(),
    holdUntil: z.string().nullable(),
    customerId: z.string(),
    rejectReason: z.string().nullable(),
    cancelReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    events: z.array(z.object({ status: StatusSchema, label: Label, at: z.string(), detail: z.string().nullable() })),
  })
  .openapi('Reservation');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const NotificationSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    message: z.object({ ko: z.string(), en: z.string() }),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    attempts: z.number().int(),
  })
  .openapi('Notification');

/** An error response in a route's OpenAPI definition. */
export const problemDoc = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});
