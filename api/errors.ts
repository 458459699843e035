/** Problem Details (RFC 9457) responses, and the one place Temporal errors become HTTP. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { ServiceError } from '@temporalio/client';
import type { Logger } from '../platform/log.js';

export type ProblemCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNKNOWN_PRODUCT'
  | 'UNKNOWN_STORE'
  | 'OUT_OF_STOCK'
  | 'STOCK_LIMIT'
  | 'SALE_NOT_OPEN'
  | 'SALE_CLOSED'
  | 'LIMIT_REACHED'
  | 'ALREADY_QUEUED'
  | 'TICKET_ENDED'
  | 'CONTACT_FROM_IDENTITY'
  | 'PHONE_NOT_VERIFIED'
  | 'INVALID_PHONE'
  | 'CUSTOMER_REQUIRED'
  | 'RATE_LIMITED'
  | 'TOO_MANY_STREAMS'
  | 'SALE_ORDER_FIXED'
  | 'LOTTERY_NEEDS_OPENING'
  | 'CLOSES_BEFORE_OPENING'
  | 'NOT_CANCELLABLE'
  | 'ALREADY_EXISTS'
  | 'STOCK_UNAVAILABLE'
  | 'DECISION_PENDING'
  | 'SERVICE_UNAVAILABLE'
  | 'NO_CAPACITY'
  | 'RELEASED'
  | 'NOT_COMPLETABLE'
  | 'HOLD_ENDED'
  | 'WORKFLOW_ENDED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'CAPACITY_BELOW_LOAD'
  | 'INTERNAL';

const TITLES: Record<ProblemCode, string> = {
  VALIDATION_FAILED: 'The request is not valid',
  MALFORMED_REQUEST: 'The request could not be read',
  PAYLOAD_TOO_LARGE: 'The request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported content type',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  UNKNOWN_PRODUCT: 'No such product',
  UNKNOWN_STORE: 'No such store',
  OUT_OF_STOCK: 'Out of stock',
  STOCK_LIMIT: 'A product holds no more stock than this',
  SALE_NOT_OPEN: 'The sale has not opened yet',
  SALE_CLOSED: 'The sale has closed',
  LIMIT_REACHED: 'You hold as many units of this phone as one customer may',
  ALREADY_QUEUED: 'You already have a place in this line',
  TICKET_ENDED: 'This place in line has ended',
  CONTACT_FROM_IDENTITY: "Your name and number come from your verified identity",
  PHONE_NOT_VERIFIED: 'A verified phone number is needed',
  INVALID_PHONE: 'Not a phone number',
  CUSTOMER_REQUIRED: 'Name the customer you reserve for',
  RATE_LIMITED: 'Too many requests',
  TOO_MANY_STREAMS: 'Too many open event streams',
  SALE_ORDER_FIXED: "The line's order can no longer change",
  LOTTERY_NEEDS_OPENING: 'A lottery needs an opening time',
  CLOSES_BEFORE_OPENING: 'The closing time comes before the opening',
  NOT_CANCELLABLE: 'The reservation can no longer be cancelled',
  ALREADY_EXISTS: 'Already exists',
  STOCK_UNAVAILABLE: 'The stock decision could not be made',
  DECISION_PENDING: 'The stock decision is still being made',
  SERVICE_UNAVAILABLE: 'A backing service is unavailable',
  NO_CAPACITY: 'No store has free capacity',
  RELEASED: 'The assignment was released',
  NOT_COMPLETABLE: 'The reservation cannot be completed now',
  HOLD_ENDED: "The reservation's hold period is over",
  WORKFLOW_ENDED: "The reservation's workflow has ended; it is being settled",
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Not allowed',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency-Key reused for a different request',
  CAPACITY_BELOW_LOAD: 'Capacity below current load',
  INTERNAL: 'Internal error',
};

export class Problem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers that belong to the problem (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    // A problem is an answer, not a fault: no stack trace (capturing one cost a twentieth of a
    // sold-out refusal's CPU).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = limit;
  }
}

export function problemBody(p: Problem, instance?: string) {
  return {
    type: `https://tshop.example/problems/${p.code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[p.code],
    status: p.status,
    detail: p.detail,
    code: p.code,
    ...(instance ? { instance } : {}),
    ...p.extra,
  };
}

export function problemResponse(c: Context, p: Problem): Response {
  return c.body(JSON.stringify(problemBody(p, c.req.path)), p.status, {
    ...p.headers,
    'content-type': 'application/problem+json',
  });
}

/** Maps anything thrown by a handler to a problem; unknown errors are logged, never leaked. */
export function toProblem(err: unknown, log: Logger): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof HTTPException) {
    if (err.status === 413) return new Problem(413, 'PAYLOAD_TOO_LARGE', 'the request body exceeds the size limit');
    if (err.status === 400) return new Problem(400, 'MALFORMED_REQUEST', err.message || 'malformed request');
    return new Problem(err.status as ContentfulStatusCode, 'VALIDATION_FAILED', err.message);
  }
  const pgCode = (err as { code?: unknown } | null)?.code;
  if (typeof pgCode === 'string' && /^22/.test(pgCode)) {
    // A data exception (out of range, bad encoding): the client sent a value the database cannot hold.
    return new Problem(422, 'VALIDATION_FAILED', 'a value is out of range');
  }
  if (err instanceof WorkflowNotFoundError) return new Problem(404, 'NOT_FOUND', 'no such reservation');
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new Problem(409, 'ALREADY_EXISTS', 'a reservation with this id already exists');
  }
  if (err instanceof ServiceError || isUnavailable(err)) {
    log.warn('a backing service is unavailable', { error: err });
    return new Problem(503, 'SERVICE_UNAVAILABLE', 'the database or the workflow service is unavailable; try again shortly', {}, { 'Retry-After': '1' });
  }
  log.error('unhandled error', { error: err, stack: err instanceof Error ? err.stack : undefined });
  return new Problem(500, 'INTERNAL', 'an unexpected error occurred');
}

/**
 * A backing service that is down, restarting or too slow right now: a connection refused, reset or
 * lost; PostgreSQL shutting down or starting (57P0x), a connection exception (08xxx), a statement
 * or lock wait cut short by the pool's timeouts (57014, 55P03). Repeating the request can succeed.
 */
function isUnavailable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(code) || /^(57P0|08|57014|55P03)/.test(code))) return true;
  return typeof message === 'string' && /Connection terminated|not queryable|timeout exceeded when trying to connect/.test(message);
}

/** The `defaultHook` of every OpenAPIHono app: a failed validation answers 400 naming the fields. */
export function validationHook(
  result: { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const errors = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const detail = errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ');
  return problemResponse(c, new Problem(400, 'VALIDATION_FAILED', detail, { errors }));
}
