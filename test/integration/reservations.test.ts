/** The first reservation, end to end: real API app, real worker, real Temporal and PostgreSQL. */
import { Context } from '@temporalio/activity';
import type { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../db/schema.js';
import { cancelSignal, reservationWorkflowId, stateQuery } from '../../app/reservation/contract.js';
import { DEPLOYMENT_NAME } from '../../shared/queues.js';
import { workflowBuildId } from '../../workers/worker.js';
import {
  connectClient,
  DEFAULT_TEST_POLICY,
  eventually,
  historyText,
  movesOf,
  newProduct,
  openTestDb,
  startAssignmentService,
  startTestWorker,
  stockOf,
  testApp,
  type TestAssignmentService,
  type TestWorker,
} from '../helpers.js';

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let worker: TestWorker;
let app: ReturnType<typeof testApp>;
let assignment: TestAssignmentService;
const releaseAttempts = new Map<string, number>();

beforeAll(async () => {
  db = await openTestDb();
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
  // The compensation commits, then "crashes" on its first attempt, so Temporal retries it.
  worker = await startTestWorker(db, { assignmentUrl: assignment.url }, (real) => ({
    async releaseStock(input) {
      const result = await real.releaseStock(input);
      const attempt = Context.current().info.attempt;
      releaseAttempts.set(input.reservationId, attempt);
      if (attempt === 1) throw new Error('simulated crash after the release committed');
      return result;
    },
  }));
  app = testApp(db, client, worker.taskQueue);
});
afterAll(async () => {
  await worker?.stop();
  await assignment?.stop();
  await connection?.close();
  await db?.destroy();
});

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const reserve = (productId: number | string, extra: Record<string, unknown> = {}) =>
  app.request('/reservations', json({ productId, customer: { id: 'c-1', name: '홍길동', phone: '010-1234-5678', district: '강남구' }, ...extra }));
// `any`: response bodies are asserted field by field
const read = (res: Response): Promise<any> => res.json();
const getReservation = async (id: string) => read(await app.request(`/reservations/${id}`));

/** Every byte string in a workflow history (payload data), decoded as text. */
function payloadText(node: unknown): string {
  if (node instanceof Uint8Array) return Buffer.from(node).toString('utf8');
  if (Array.isArray(node)) return node.map(payloadText).join('\n');
  if (node && typeof node === 'object') return Object.values(node).map(payloadText).join('\n');
  return '';
}

describe('POST /reservations', () => {
  it('accepts when stock is there: 201, stock down by exactly one, one ledger row', async () => {
    const product = await newProduct(db, 3);
    const res = await reserve(product.id);
    expect(res.status).toBe(201);
    const body = await read(res);
    // The answer is the view as it is then: a quick store assignment may already have confirmed it.
    expect([['ACCEPTED', '배정대기'], ['CONFIRMED', '예약접수완료']]).toContainEqual([body.status, body.statusLabel.ko]);
    expect(body).toMatchObject({
      workflowId: reservationWorkflowId(body.id),
      product: { id: product.id },
      quantity: 1,
      customerId: 'c-1',
    });
    expect(res.headers.get('location')).toBe(`/reservations/${body.id}`);
    expect(body.fulfilment).toBe('PICKUP');
    expect(await stockOf(db, product.id)).toBe(2);
    expect((await movesOf(db, body.id)).map((m) => [m.kind, m.delta])).toEqual([['RESERVE', -1]]);
    expect(['ACCEPTED', 'CONFIRMED']).toContain((await getReservation(body.id))?.status);

    // The workflow is findable by its id and search attribute, and carries no personal data.
    const handle = client.workflow.getHandle(body.workflowId);
    expect(['ACCEPTED', 'CONFIRMED']).toContain((await handle.query(stateQuery)).status);
    const events = (await handle.fetchHistory()).events ?? [];
    // Each workflow task records the build id (the workflow bundle's checksum) of the worker that ran it.
    const stamps = events.flatMap((e) => e.workflowTaskCompletedEventAttributes ?? []);
    const bundleCode = readFileSync(inject('workflowBundlePath'), 'utf8');
    expect(stamps.length).toBeGreaterThan(0);
    for (const s of stamps) expect(s).toMatchObject({ workerDeploymentName: DEPLOYMENT_NAME, workerVersion: { buildId: workflowBuildId(bundleCode) } });
    const history = payloadText({ events });
    expect(history).toContain(body.id);
    expect(history).not.toContain('010-1234-5678');
    expect(history).not.toContain('홍길동');
    await eventually(
      async () => {
        const found = [];
        const query = `WorkflowId="${body.workflowId}" AND ReservationStatus="CONFIRMED" AND ProductId="${product.id}" AND CustomerId="c-1"`;
        for await (const wf of client.workflow.list({ query })) found.push(wf);
        return found.length;
      },
      (n) => n === 1,
    );
  });

  it('rejects with 409 when there is no stock, and changes nothing', async () => {
    const product = await newProduct(db, 0);
    const res = await reserve(product.id);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await read(res);
    expect(problem).toMatchObject({ status: 409, code: 'OUT_OF_STOCK' });
    expect(await stockOf(db, product.id)).toBe(0);
    expect(await movesOf(db, problem.reservationId)).toEqual([]);
    // Sold out on arrival: refused without starting a workflow.
    expect(await getReservation(problem.reservationId)).toMatchObject({ status: 'REJECTED', statusLabel: { ko: '예약불가' }, workflowId: null });
  });

  it('answers 503 DECISION_PENDING when no worker decides in time; the decision still comes and the same key gets it', async () => {
    const product = await newProduct(db, 2);
    const idleQueue = `idle-${randomUUID()}`; // no worker polls it yet
    const impatient = testApp(db, client, idleQueue, DEFAULT_TEST_POLICY, { decisionDeadlineMs: 2_000 });
    const send = () =>
      impatient.request('/reservations', {
        ...json({ productId: product.id, customer: { id: 'c-1', district: '중구' } }),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'pending-decision-1' },
      });
    const first = await send();
    expect(first.status).toBe(503);
    const problem = await read(first);
    expect(problem).toMatchObject({ code: 'DECISION_PENDING', reservationId: expect.any(String), workflowId: expect.any(String) });
    expect(await stockOf(db, product.id)).toBe(2);

    const late = await startTestWorker(db, { assignmentUrl: assignment.url, taskQueue: idleQueue });
    try {
      const again = await send();
      expect(again.status).toBe(201);
      expect(await read(again)).toMatchObject({ id: problem.reservationId, status: 'ACCEPTED' });
      expect(await stockOf(db, product.id)).toBe(1);
    } finally {
      await late.stop();
    }
  });

  it('answers 400 for bad input and 422 for an unknown product, reserving nothing', async () => {
    const product = await newProduct(db, 5);
    for (const body of [
      { productId: product.id, quantity: 3, customer: { id: 'c-1' } },
      { productId: product.id, quantity: -1, customer: { id: 'c-1' } },
      { productId: 'abc', customer: { id: 'c-1' } },
      { productId: product.id, customer: { id: 'c-1', latitude: 123, longitude: 0 } },
      { productId: product.id, customer: { id: 'c-1' }, extra: true },
      { productId: product.id, customer: { id: 'c-1', district: 'Atlantis' } }, // not a Seoul district: the contract lists them
    ]) {
      const res = await app.request('/reservations', json(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await read(res)).code).toBe('VALIDATION_FAILED');
    }
    const malformed = await app.request('/reservations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"productId":' });
    expect(malformed.status).toBe(400);
    const unknown = await reserve(999_999);
    expect(unknown.status).toBe(422);
    expect((await read(unknown)).code).toBe('UNKNOWN_PRODUCT');
    expect(await stockOf(db, product.id)).toBe(5);
  });
});

describe('cancel', () => {
  it('restores stock exactly once although the compensation is retried, and ends CANCELLED', async () => {
    const product = await newProduct(db, 2);
    const { id } = await read(await reserve(product.id));
    expect(await stockOf(db, product.id)).toBe(1);
    await eventually(() => getReservation(id), (r) => r.status === 'CONFIRMED');

    const res = await app.request(`/reservations/${id}/cancel`, json({ reason: 'changed my mind' }));
    expect(res.status).toBe(202);
    const done = await eventually(() => getReservation(id), (r) => r.status === 'CANCELLED');
    expect(done.statusLabel.ko).toBe('예약취소완료');
    expect(done.cancelReason).toBe('changed my mind');
    expect(done.events.at(-1)).toMatchObject({ status: 'CANCELLED', detail: 'changed my mind' });
    // The customer's words stay in PostgreSQL: the signal carried none of them.
    expect(await historyText(client.workflow.getHandle(done.workflowId))).not.toContain('changed my mind');
    expect(done.events.map((e: { status: string }) => e.status)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);
    // The first attempt committed (the view says CANCELLED) and failed; the workflow retried it.
    await client.workflow.getHandle(done.workflowId).result();
    expect(releaseAttempts.get(id)).toBeGreaterThanOrEqual(2);
    expect(await stockOf(db, product.id)).toBe(2);
    expect((await movesOf(db, id)).map((m) => [m.kind, m.delta])).toEqual([['RESERVE', -1], ['RELEASE', 1]]);

    // Cancelling again changes nothing.
    const again = await app.request(`/reservations/${id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await read(again)).code).toBe('NOT_CANCELLABLE');
    expect(await stockOf(db, product.id)).toBe(2);
  });

  it('accepts the seed call PATCH {"status":"예약취소"}', async () => {
    const product = await newProduct(db, 1);
    const { id } = await read(await reserve(String(product.id)));
    const res = await app.request(`/reservations/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: '예약취소' }),
    });
    expect(res.status).toBe(202);
    await eventually(() => getReservation(id), (r) => r.status === 'CANCELLED');
    expect(await stockOf(db, product.id)).toBe(1);
  });

  it('works from a raw `cancel` signal, as the Web UI or CLI sends it', async () => {
    const product = await newProduct(db, 1);
    const { id, workflowId } = await read(await reserve(product.id));
    const handle = client.workflow.getHandle(workflowId);
    await handle.signal(cancelSignal, { reason: 'operator' });
    const state = await handle.result();
    expect(state.status).toBe('CANCELLED');
    expect(await stockOf(db, product.id)).toBe(1);
    expect((await getReservation(id)).status).toBe('CANCELLED');
  });

  it('answers 404 for an unknown reservation and 400 for a malformed id', async () => {
    expect((await app.request('/reservations/0000000000AA')).status).toBe(404);
    expect((await app.request('/reservations/0000000000AA/cancel', { method: 'POST' })).status).toBe(404);
    const bad = await app.request('/reservations/not-an-id');
    expect(bad.status).toBe(400);
    expect((await read(bad)).code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /products', () => {
  it('lists products with their available stock', async () => {
    const product = await newProduct(db, 7);
    const { items } = await read(await app.request('/products'));
    expect(items).toContainEqual(expect.objectContaining({ id: product.id, availableStock: 7 }));
  });
});
