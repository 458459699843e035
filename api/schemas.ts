/** Request and response schemas: they validate input and document the API. */
import { z } from '@hono/zod-openapi';
import { SEOUL_DISTRICTS } from '../shared/districts.js';
import { FULFILMENTS, NOTIFICATION_KINDS, RESERVATION_ID_PATTERN, RESERVATION_STATUSES } from '../app/reservation/contract.js';

/** Ids are PostgreSQL integers. */
const MAX_ID = 2_147_483_647;

/** Free text from clients: no control characters (PostgreSQL refuses NUL, logs should not carry the rest). */
export const CUSTOMER_ID_PATTERN = /^[\w.@:-]{1,64}$/;
export const STORE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,63}$/;
/**
 * A walk-in's number as staff type it: a Korean mobile number (01X, the numbers KakaoTalk and the
 * SMS fallback reach), national or +82, spaces or dashes between the groups. Every string it admits
 * is a valid number to libphonenumber (platform/phone.ts), so the contract admits no number the API refuses.
 */
const KOREAN_MOBILE_PATTERN = /^(?:\+82[ -]?|0)1[016789][ -]?[0-9]{3,4}[ -]?[0-9]{4}$/;
const CURSOR_PATTERN = /^[0-9]{1,17}\.[0-9A-HJKMNP-TV-Z]{12}$/;
/**
 * A string of at most `max` characters as JSON Schema counts them: code points of the string as sent.
 * zod's own `max` counts UTF-16 units (an emoji twice) and, after a trim, fewer than were sent.
 */
export const chars = (max: number) =>
  z
    .string()
    .refine((s) => [...s].length <= max, `at most ${max} characters`)
    .openapi({ maxLength: max });
// Something besides white space (which is trimmed), and no control characters: the pattern says both.
const text = (max: number) =>
  chars(max)
    .trim()
    .min(1)
    .regex(/^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$/, 'text, not only white space, no control characters');

export const ProductIdParam = z.object({
  id: z.coerce.number().int().positive().max(MAX_ID).openapi({ param: { name: 'id', in: 'path' }, example: 1 }),
});

export const ReservationIdParam = z.object({
  id: z
    .string()
    .toUpperCase()
    .regex(RESERVATION_ID_PATTERN, 'must be a 12-character reservation id')
    .openapi({ param: { name: 'id', in: 'path' }, example: '7K3F9Q2M4XTB' }),
});

const SaleStateSchema = z
  .enum(['SCHEDULED', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED'])
  .openapi({ description: 'SCHEDULED before the opening (join the line), OPEN, PAUSED by the launch desk, SOLD_OUT, CLOSED after the closing time' });
const QueueOrderSchema = z.enum(['FIFO', 'LOTTERY']).openapi({
  description: 'How those who joined before the opening are ordered: first-come, or a lottery drawn at the opening from a seed whose SHA-256 is published first',
});

const SaleSummarySchema = z.object({
  state: SaleStateSchema,
  opensAt: z.string().nullable(),
  closesAt: z.string().nullable(),
  unitLimit: z.number().int().openapi({ description: 'Units one customer (and one phone number) may hold' }),
  order: QueueOrderSchema,
  waiting: z.number().int().openapi({ description: 'Places in line not yet reached' }),
});

export const ProductSchema = z
  .object({
    id: z.number().int(),
    sku: z.string(),
    name: z.string(),
    brand: z.string(),
    priceKrw: z.number().int(),
    availableStock: z.number().int(),
    sale: SaleSummarySchema,
  })
  .openapi('Product');

export const SaleSchema = z
  .object({
    productId: z.number().int(),
    state: SaleStateSchema,
    opensAt: z.string().nullable(),
    closesAt: z.string().nullable(),
    paused: z.boolean(),
    unitLimit: z.number().int(),
    order: QueueOrderSchema,
    admissionRate: z.number().nullable().openapi({ description: 'Tickets admitted per second as the desk set it; null: as fast as stock decisions complete' }),
    queue: z.object({
      issued: z.number().int().openapi({ description: 'Places issued so far' }),
      admitted: z.number().int().openapi({ description: 'Places passed (admitted, or skipped as gone)' }),
      waiting: z.number().int(),
      admittedPerSecond: z.number().nullable().openapi({ description: 'Measured over the last 30 s; null before anything moved' }),
      lastInLineWaitSeconds: z.number().int().nullable().openapi({ description: 'The estimated wait of the last in line' }),
      soldOutAt: z.string().nullable(),
    }),
    lottery: z.object({
      seedSha256: z.string().nullable().openapi({ description: 'SHA-256 (hex) of the seed, published before anyone joins' }),
      seed: z.string().nullable().openapi({ description: 'The seed (hex), revealed at the draw' }),
      drawnAt: z.string().nullable(),
      drawn: z.number().int().nullable().openapi({ description: 'Tickets the draw ordered' }),
    }),
  })
  .openapi('Sale');

export const UpdateSaleSchema = z
  .strictObject({
    opensAt: z.iso.datetime({ offset: true }).nullable().optional().openapi({ description: 'When the sale opens (null: open now)' }),
    closesAt: z.iso.datetime({ offset: true }).nullable().optional().openapi({ description: 'When it closes (null: never)' }),
    paused: z.boolean().optional().openapi({ description: 'Paused: nobody is admitted; the line keeps its places' }),
    unitLimit: z.number().int().min(1).max(10).optional(),
    order: QueueOrderSchema.optional(),
    admissionRate: z.number().min(0.1).max(10_000).nullable().optional().openapi({ description: 'Tickets per second; null: automatic' }),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'change at least one setting' })
  .openapi('UpdateSale', { minProperties: 1, example: { opensAt: '2026-12-24T10:00:00+09:00', order: 'LOTTERY', unitLimit: 1 } });

export const DrawSchema = z
  .object({
    productId: z.number().int(),
    order: QueueOrderSchema,
    seedSha256: z.string().nullable(),
    seed: z.string().nullable(),
    drawnAt: z.string().nullable(),
    algorithm: z.string(),
    tickets: z.array(z.string()).openapi({ description: 'The tickets the draw ordered, first place first' }),
  })
  .openapi('Draw');

export const TicketIdParam = z.object({
  id: z
    .string()
    .toUpperCase()
    .regex(RESERVATION_ID_PATTERN, 'must be a 12-character ticket id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'Q7K3F9Q2M4XT' }),
});

export const TicketSchema = z
  .object({
    id: z.string(),
    productId: z.number().int(),
    status: z.enum(['WAITING', 'ADMITTED', 'RESERVED', 'SOLD_OUT', 'REFUSED', 'LAPSED', 'LEFT', 'CLOSED']).openapi({
      description:
        'WAITING in line; ADMITTED: its stock decision is being made; RESERVED (see reservationId); SOLD_OUT before its turn; ' +
        'REFUSED (see refusal); LAPSED: not kept alive; LEFT; CLOSED: the sale closed',
    }),
    sale: z.object({
      state: z.enum(['SCHEDULED', 'OPEN', 'PAUSED', 'SOLD_OUT', 'CLOSED', 'UNKNOWN']),
      opensAt: z.string().nullable(),
      order: QueueOrderSchema,
      unitsLeft: z.number().int().nullable().openapi({ description: 'Units in stock now: with `ahead`, how likely a unit is left at your turn' }),
    }),
    position: z.number().int().nullable().openapi({ description: 'Place in line; null until a lottery is drawn, and once no longer waiting' }),
    ahead: z.number().int().nullable().openapi({ description: 'People ahead' }),
    estimatedWait: z
      .object({
        seconds: z.number().int(),
        low: z.number().int(),
        high: z.number().int(),
        admittedPerSecond: z.number(),
        soldOutLikely: z.boolean().openapi({ description: 'More people are ahead than units are left: the stock is likely gone before your turn' }),
        soldOutInSeconds: z.number().int().nullable().openapi({ description: 'When the stock is likely gone, at the measured rate (when soldOutLikely)' }),
      })
      .nullable()
      .openapi({ description: 'From the measured admission rate (its fastest and slowest spells give the range); null while paused or before anything moved' }),
    reservationId: z.string().nullable(),
    refusal: z.string().nullable().openapi({ description: 'Why an admitted ticket got no unit (LIMIT_REACHED, …)' }),
    joinedAt: z.string(),
    updatedAt: z.string().openapi({ description: 'When the ticket itself last changed (of two answers, the later wins)' }),
    leaseExpiresAt: z.string().openapi({ description: 'Kept alive by polling it (or an open event stream); past this it leaves the line when its turn comes' }),
    pollAfterSeconds: z.number().int().nullable().openapi({ description: 'When to ask again (also Retry-After); null once it has ended' }),
  })
  .openapi('Ticket');



const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);

/** Every name a Seoul district goes by here: 강남구, 강남, Gangnam-gu, Gangnam. */
const DISTRICT_NAMES = SEOUL_DISTRICTS.flatMap((d) => [d.ko, d.ko.replace(/구$/, ''), d.en, d.en.replace(/-gu$/, '')]) as [string, ...string[]];

// JSON Schema's dependentRequired (OpenAPI 3.1) states the refine below; the metadata type knows only 3.0's keywords.
const LOCATION_TOGETHER = { dependentRequired: { latitude: ['longitude'], longitude: ['latitude'] } } as object;

const CustomerSchema = z
  .strictObject({
    id: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(CUSTOMER_ID_PATTERN, 'letters, digits and . _ @ : - only')
      .optional()
      .openapi({ description: "Whom an admin reserves for (left out: the admin's own id); a customer's token names the customer" }),
    name: text(100).optional(),
    phone: z
      .string()
      .regex(KOREAN_MOBILE_PATTERN, 'a Korean mobile number')
      .optional()
      .openapi({ description: 'A Korean mobile number: 010-1234-5678, 01012345678, +82 10 1234 5678' }),
    district: z.enum(DISTRICT_NAMES).optional().openapi({ description: 'A Seoul district (구), in Korean or English, with or without the suffix' }),
    latitude: Latitude.optional(),
    longitude: Longitude.optional(),
  })
  .refine((c) => (c.latitude === undefined) === (c.longitude === undefined), {
    message: 'latitude and longitude go together',
    path: ['latitude'],
  })
  .openapi('Customer', LOCATION_TOGETHER);

export const CreateReservationSchema = z
  .strictObject({
    productId: z
      .union([z.number().int().positive().max(MAX_ID), z.string().regex(/^[1-9][0-9]{0,8}$/, 'a product id').transform(Number)])
      .openapi({ description: 'Product id, as a number or a numeric string (the seed sends "1")' }),
    quantity: z.number().int().min(1).max(2).default(1),
    fulfilment: z.enum(FULFILMENTS).default('PICKUP').openapi({ description: 'PICKUP at the assigned store, or DELIVERY' }),
    customer: CustomerSchema.optional().openapi({
      description:
        'Location, and for store staff and admins registering a walk-in customer their contact. A customer\'s name and number ' +
        'come from their token (`name`, and `phone_number` once `phone_number_verified`): a customer sending `name` or `phone` is ' +
        'refused (422 CONTACT_FROM_IDENTITY). Without a location, the last known one (or Seoul City Hall; a store\'s own for its staff). ' +
        '`customer.id` names whom an admin or store staff reserve for; without it (and always for a customer token) the reservation is the caller\'s own',
    }),
  })
  .openapi('CreateReservation', {
    example: { productId: 1, quantity: 1, fulfilment: 'PICKUP', customer: { district: '강남구' } },
  });

export const JoinLineSchema = z
  .strictObject({
    quantity: z.number().int().min(1).max(2).default(1),
    fulfilment: z.enum(FULFILMENTS).default('PICKUP'),
    customer: z
      .strictObject({
        district: z.enum(DISTRICT_NAMES).optional(),
        latitude: z.number().min(-90).max(90).optional(),
        longitude: z.number().min(-180).max(180).optional(),
      })
      .refine((c) => (c.latitude === undefined) === (c.longitude === undefined), { message: 'latitude and longitude go together', path: ['latitude'] })
      .optional()
      .openapi({ description: 'Where the customer is, for the store; name and number come from the token', ...LOCATION_TOGETHER }),
  })
  .openapi('JoinLine', { example: { quantity: 1, fulfilment: 'PICKUP', customer: { district: '강남구' } } });

export const CompleteReservationSchema = z
  .strictObject({ by: text(64).optional().openapi({ description: 'Staff member who handed the phone over' }) })
  .openapi('CompleteReservation');

export const ListReservationsQuery = z.object({
  customerId: z.string().max(64).regex(CUSTOMER_ID_PATTERN, 'a customer id').optional(),
  status: z.enum(RESERVATION_STATUSES).optional(),
  productId: z.coerce.number().int().positive().max(MAX_ID).optional(),
  storeId: z.string().regex(STORE_ID_PATTERN, 'a store id').optional().openapi({ description: "Only this store's reservations" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(CURSOR_PATTERN, 'a nextCursor this API gave')
    .optional()
    .openapi({ description: 'The `nextCursor` of the previous page: `<microseconds since the epoch>.<reservation id>`' }),
});

export const CancelReservationSchema = z
  .strictObject({ reason: text(200).optional() })
  .openapi('CancelReservation');

export const PatchReservationSchema = z
  .strictObject({
    status: z.enum(['예약취소', 'CANCELLED']).openapi({ description: 'Only cancellation is accepted' }),
    reason: text(200).optional(),
  })
  .openapi('PatchReservation');

const StatusSchema = z.enum(RESERVATION_STATUSES);
const Label = z.object({ ko: z.string(), en: z.string() });

export const ReservationSchema = z
  .object({
    id: z.string(),
    workflowId: z.string().nullable().openapi({
      description: 'The reservation workflow (Temporal workflow id); null when the product was sold out on arrival and no workflow was started',
    }),
    status: StatusSchema,
    statusLabel: Label,
    product: z.object({ id: z.number().int(), sku: z.string(), name: z.string() }),
    quantity: z.number().int(),
    fulfilment: z.enum(FULFILMENTS),
    store: z.object({ id: z.string(), name: z.string(), distanceKm: z.number().nullable(), address: z.string().nullable() }).nullable(),
    holdUntil: z.string().nullable(),
    customerId: z.string(),
    rejectReason: z.string().nullable(),
    cancelReason: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    events: z.array(z.object({ status: StatusSchema, label: Label, at: z.string(), detail: z.string().nullable() })),
  })
  .openapi('Reservation');

const ProblemSchema = z
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
    kind: z.enum(NOTIFICATION_KINDS),
    status: z.enum(['QUEUED', 'SENT', 'FAILED']).openapi({ description: 'QUEUED until the notifier sends it; FAILED when it was refused for good (see `error`)' }),
    channel: z
      .enum(['kakao', 'sink'])
      .nullable()
      .openapi({ description: '`kakao`: sent to the Kakao endpoint; `sink`: none is configured, so recorded exactly as it would have been sent' }),
    templateCode: z.string().nullable().openapi({ description: 'The KakaoTalk AlimTalk template, e.g. TSHOP_CONFIRMED' }),
    message: z
      .object({ ko: z.string(), en: z.string().openapi({ description: 'The fallback text (LMS) when KakaoTalk cannot deliver' }) })
      .nullable()
      .openapi({ description: 'The text as sent; null while queued' }),
    request: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The request sent to the Kakao endpoint (or that would have been), the customer's number and name masked" }),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    failedAt: z.string().nullable(),
    error: z.string().nullable(),
    attempts: z.number().int(),
  })
  .openapi('Notification');

/** A JSON request body of a route (required unless told). */
export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({ required, content: { 'application/json': { schema } } });

type HeaderDocs = Record<string, { description: string; schema: { type: 'integer' | 'string' } }>;

/** An error response in a route's OpenAPI definition. */
export const problemDoc = (description: string, headers?: HeaderDocs) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** A problem answered with a `Retry-After` header: when to repeat the request. */
export const retryLater = (description: string) => ({
  description,
  headers: { 'Retry-After': { description: 'Seconds to wait before repeating the request', schema: { type: 'integer' as const } } },
});

/** A write refused by the rate limits (api/rate-limits.ts). */
export const rateLimited = {
  description: 'RATE_LIMITED: too many writes from this customer (or address); repeat after `Retry-After` seconds',
  headers: {
    'Retry-After': { description: 'Seconds until the limit allows a write again', schema: { type: 'integer' as const } },
    'RateLimit-Policy': { description: 'The quota policies (draft-ietf-httpapi-ratelimit-headers): `"customer";q=10;w=60`', schema: { type: 'string' as const } },
    RateLimit: { description: 'What is left of each: `"customer";r=0;t=42`', schema: { type: 'string' as const } },
  },
};

/**
 * The problems every authenticated route can answer, plus route-specific ones. A write (`body`, or
 * `write` for one without a body) can also be refused by the write limits, whatever its route.
 */
export function problems(specific: Record<number, string | { description: string; headers: HeaderDocs }>, options: { body?: boolean; write?: boolean } = {}) {
  const all: Record<number, string | { description: string; headers?: HeaderDocs }> = {
    400: 'Invalid request (see `errors`)',
    401: 'Missing, invalid or expired bearer token',
    403: 'Your role may not do this',
    ...(options.body ? { 413: 'Body larger than 16 KiB', 415: 'Body is not application/json' } : ({} as Record<number, string>)),
    ...(options.body || options.write ? { 429: rateLimited } : ({} as Record<number, string>)),
    ...specific,
  };
  return Object.fromEntries(
    Object.entries(all).map(([status, doc]) => [status, typeof doc === 'string' ? problemDoc(doc) : problemDoc(doc.description, doc.headers)]),
  );
}

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(8)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'Repeat a request safely: the same key with the same body returns the first answer',
      example: '6f1c2a7e-reserve-1',
    }),
});

export const CreateProductSchema = z
  .strictObject({
    sku: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'lower-case letters, digits and dashes'),
    name: text(100),
    brand: text(40),
    priceKrw: z.number().int().min(0).max(100_000_000),
    stock: z.number().int().min(0).max(1_000_000).default(0),
  })
  .openapi('CreateProduct', { example: { sku: 'galaxy-s26-256', name: 'Galaxy S26 256GB', brand: 'Samsung', priceKrw: 1_155_000, stock: 100 } });

export const UpdateProductSchema = z
  .strictObject({
    name: text(100).optional(),
    brand: text(40).optional(),
    priceKrw: z.number().int().min(0).max(100_000_000).optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'change at least one field' })
  .openapi('UpdateProduct', { minProperties: 1, example: { priceKrw: 1_099_000 } });

export const RestockSchema = z
  .strictObject({ quantity: z.number().int().min(1).max(1_000_000) })
  .openapi('Restock', { example: { quantity: 50 } });

export const StoreSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    district: z.string(),
    address: z.string(),
    latitude: z.number(),
    longitude: z.number(),
    capacity: z.number().int(),
    active: z.number().int(),
    open: z.boolean(),
    central: z.boolean(),
  })
  .openapi('Store');

export const StoreIdParam = z.object({
  id: z.string().regex(STORE_ID_PATTERN, 'a store id').openapi({ param: { name: 'id', in: 'path' }, example: 'gangnam' }),
});

export const CreateStoreSchema = z
  .strictObject({
    id: z.string().regex(STORE_ID_PATTERN, 'lower-case letters, digits and dashes'),
    name: text(100),
    district: text(40),
    address: text(200),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    capacity: z.number().int().min(0).max(100_000),
  })
  .openapi('CreateStore', {
    example: { id: 'seongsu', name: '성수 대리점', district: '성동구', address: '서울 성동구 아차산로 100', latitude: 37.5446, longitude: 127.0557, capacity: 20 },
  });

export const UpdateStoreSchema = z
  .strictObject({ open: z.boolean().optional(), capacity: z.number().int().min(0).max(100_000).optional() })
  .refine((p) => Object.keys(p).length > 0, { message: 'change at least one field' })
  .openapi('UpdateStore', { minProperties: 1, example: { open: false } });
