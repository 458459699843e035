/** Problem Details: what each failure a handler can meet answers, and the validation hook. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { Problem, problemBody, problemResponse, toProblem, validationHook } from '../../api/errors.js';
import type { Logger } from '../../platform/log.js';

/** A logger that keeps what it was told, by level. */
function recordingLogger() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return { log, lines };
}

const mapped = (err: unknown) => {
  const { log, lines } = recordingLogger();
  const p = toProblem(err, log);
  return { status: p.status, code: p.code, detail: p.detail, headers: p.headers, logged: lines.map((l) => l.level) };
};

describe('toProblem', () => {
  it('passes a Problem through as it is', () => {
    const p = new Problem(409, 'NOT_CANCELLABLE', 'already completed', { status: 'COMPLETED' });
    expect(toProblem(p, recordingLogger().log)).toBe(p);
  });

  it("maps hono's HTTP exceptions: body too large, unreadable request, others as validation", () => {
    expect(mapped(new HTTPException(413))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(mapped(new HTTPException(400, { message: 'Malformed JSON in request body' }))).toMatchObject({
      status: 400,
      code: 'MALFORMED_REQUEST',
      detail: 'Malformed JSON in request body',
    });
    expect(mapped(new HTTPException(400))).toMatchObject({ code: 'MALFORMED_REQUEST', detail: 'malformed request' });
    expect(mapped(new HTTPException(415, { message: 'use application/json' }))).toMatchObject({ status: 415, code: 'VALIDATION_FAILED' });
  });

  it('answers 422 for a value PostgreSQL cannot hold (SQLSTATE class 22)', () => {
    expect(mapped(Object.assign(new Error('integer out of range'), { code: '22003' }))).toMatchObject({ status: 422, code: 'VALIDATION_FAILED', logged: [] });
  });

  it("maps Temporal's not-found and already-started to 404 and 409", () => {
    expect(mapped(new WorkflowNotFoundError('not found', 'reservation-X', undefined))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(mapped(new WorkflowExecutionAlreadyStartedError('started', 'reservation-X', 'reservationWorkflow'))).toMatchObject({ status: 409, code: 'ALREADY_EXISTS' });
  });

  it('answers 503 with Retry-After, and a warning, when a backing service is down or slow', () => {
    const down = [
      new ServiceError('14 UNAVAILABLE: connection refused'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ];
    for (const err of down) {
      expect(mapped(err), err.message).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', headers: { 'Retry-After': '1' }, logged: ['warn'] });
    }
  });

  it('answers 500 for anything else, logging the error and leaking none of it', () => {
    const { log, lines } = recordingLogger();
    const p = toProblem(new TypeError('secret internals: cannot read x of undefined'), log);
    expect(p).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(p.detail).not.toContain('secret');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', fields: { error: expect.any(TypeError) } });
    expect(mapped(Object.assign(new Error('unique violation'), { code: '23505' }))).toMatchObject({ status: 500, logged: ['error'] });
    expect(mapped(null)).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});

describe('problem+json', () => {
  it('has an RFC 9457 body: type, title, status, detail, code, instance, then the extras', () => {
    const body = problemBody(new Problem(409, 'NOT_CANCELLABLE', 'reservation 7K3F9Q2M4XTB is COMPLETED', { reservationStatus: 'COMPLETED' }), '/reservations/7K3F9Q2M4XTB/cancel');
    expect(body).toEqual({
      type: 'https://tshop.example/problems/not-cancellable',
      title: 'The reservation can no longer be cancelled',
      status: 409,
      detail: 'reservation 7K3F9Q2M4XTB is COMPLETED',
      code: 'NOT_CANCELLABLE',
      instance: '/reservations/7K3F9Q2M4XTB/cancel',
      reservationStatus: 'COMPLETED',
    });
    expect(problemBody(new Problem(404, 'NOT_FOUND', 'no such reservation'))).not.toHaveProperty('instance');
  });

  it("is what a handler's failure answers, with the problem's headers", async () => {
    const app = new OpenAPIHono();
    app.get('/held', () => {
      throw new Problem(503, 'DECISION_PENDING', 'the decision is still being made', { retryAfterSeconds: 2 }, { 'Retry-After': '2' });
    });
    app.onError((err, c) => problemResponse(c, toProblem(err, recordingLogger().log)));
    const res = await app.request('/held');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ code: 'DECISION_PENDING', status: 503, instance: '/held', retryAfterSeconds: 2 });
  });
});

describe('validationHook', () => {
  const app = new OpenAPIHono({ defaultHook: validationHook });
  const route = createRoute({
    method: 'post',
    path: '/reservations',
    request: {
      body: {
        content: { 'application/json': { schema: z.object({ productId: z.number().int().positive(), customer: z.object({ phone: z.string().regex(/^010\d{8}$/) }) }) } },
      },
    },
    responses: { 201: { description: 'created' } },
  });
  app.openapi(route, (c) => c.body(null, 201));
  const post = (body: unknown) => app.request('/reservations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers 400 problem+json naming every offending field', async () => {
    const res = await post({ productId: -1, customer: { phone: '123' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { code: string; errors: { path: string; message: string }[]; detail: string };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors.map((e) => e.path)).toEqual(['productId', 'customer.phone']);
    expect(body.detail).toMatch(/^productId: .+; customer\.phone: .+$/);
  });

  it('names the body itself when the whole body is wrong, and lets a valid request through', async () => {
    const res = await post([1, 2]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/^\(body\): /);
    expect((await post({ productId: 1, customer: { phone: '01012345678' } })).status).toBe(201);
  });
});
