/** Every path of the seed's scenario end to end: real API, worker, assignment service, Temporal, PostgreSQL. */
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssignmentBreaker } from '../../app/assignment/activities.js';
import { assignStore, releaseAssignment } from '../../app/assignment/repository.js';
import { checkInvariants } from '../../db/invariants.js';
import type { Database } from '../../db/schema.js';
import { CENTRAL_STORE, reservationWorkflowId, type ReservationPolicy } from '../../app/reservation/contract.js';
import { startFakeKakao, type FakeKakao } from '../kakao.js';
import { newReservationId } from '../../platform/ids.js';
import { demoPhoneFor } from '../../db/data/demo.js';
import {
  activeAt,
  connectClient,
  DEFAULT_TEST_POLICY,
  eventually,
  historyText,
  movesOf,
  newProduct,
  newStore,
  isolatedDatabase,
  startAssignmentService,
  startTestWorker,
  stockOf,
  testApp,
  untilDecided,
  type TestAssignmentService,
  type TestWorker,
  assignmentTables,
} from '../helpers.js';

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let assignment: TestAssignmentService;
let worker: TestWorker;
let kakao: FakeKakao;
let assignAttempts = 0;
/** Each reservation's store attempts. */
const assignAttemptsOf = new Map<string, number>();
/** Products whose stock decision commits, then loses its answer (a network cut after the commit). */
const answerLostFor = new Set<number>();
const breaker = createAssignmentBreaker({ failures: 3, halfOpenAfterMs: 1_000 });
/** Reservations whose stock release waits for the gate: the read model lags the workflow meanwhile. */
const releaseGates = new Map<string, Promise<void>>();

let own: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  // A database of its own: its notifier's drain sends every pending row to this suite's Kakao endpoint.
  own = await isolatedDatabase({ seed: true });
  db = own.db;
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
  // The customers' KakaoTalk messages go, through the real Python notifier, to a Kakao-compatible endpoint.
  kakao = await startFakeKakao();
  worker = await startTestWorker(db, { assignmentUrl: assignment.url, breaker, databaseUrl: own.url, notifier: kakao.env }, (real) => ({
    async assignStore(input) {
      assignAttempts++;
      assignAttemptsOf.set(input.reservationId, (assignAttemptsOf.get(input.reservationId) ?? 0) + 1);
      return real.assignStore(input);
    },
    async releaseStock(input) {
      await releaseGates.get(input.reservationId);
      return real.releaseStock(input);
    },
    async reserveStock(input) {
      const decision = await real.reserveStock(input);
      if (answerLostFor.has(input.productId)) throw ApplicationFailure.nonRetryable('the answer was lost after the commit', 'AnswerLost');
      return decision;
    },
  }));
});
afterAll(async () => {
  await worker?.stop();
  await assignment?.stop();
  await kakao?.close();
  await connection?.close();
  await own?.drop();
});

// `any`: response bodies are asserted field by field
type Body = any;
function api(policy: ReservationPolicy = DEFAULT_TEST_POLICY) {
  const app = testApp(db, client, worker.taskQueue, policy);
  const send = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Body }> => {
    const res = await app.request(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  return {
    send,
    // An admin registering the customer, with a number of the customer's own (one unit per customer and per number).
    reserve: (productId: number, customer: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const id = (customer.id as string | undefined) ?? 'c-life';
      return untilDecided(() => send('POST', '/reservations', { productId, customer: { id, phone: demoPhoneFor(id), ...customer }, ...extra }), (p) => send('GET', p));
    },
    get: async (id: string): Promise<Body> => (await send('GET', `/reservations/${id}`)).body,
    until: (id: string, status: string, timeoutMs = 30_000) =>
      eventually(async () => (await send('GET', `/reservations/${id}`)).body, (r: Body) => r.status === status, timeoutMs),
  };
}

describe('stock decision', () => {
  it('50 concurrent reservations for 10 units: exactly 10 accepted, 40 rejected, stock 0, ledger consistent', async () => {
    const product = await newProduct(db, 10);
    const { reserve } = api();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => reserve(product.id, { id: `c-rush-${i}`, district: '강남구' })));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 409 && a.body.code === 'OUT_OF_STOCK')).toHaveLength(40);
    expect(await stockOf(db, product.id)).toBe(0);
    const moves = await db.selectFrom('stock_ledger').select(['kind', 'delta']).where('product_id', '=', product.id).execute();
    expect(moves.filter((m) => m.kind === 'RESERVE')).toHaveLength(10);
    expect(moves.reduce((sum, m) => sum + m.delta, 0)).toBe(0);
  });
});

describe('sold out on arrival', () => {
  it('is refused at once without a workflow, the customer is still notified, and a cancellation reopens it', async () => {
    const product = await newProduct(db, 1);
    const { reserve, send, until } = api();
    const taken = await reserve(product.id, { id: 'c-first', district: '중구' });
    expect(taken.status).toBe(201);

    const refused = await reserve(product.id, { id: 'c-late', district: '중구' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'OUT_OF_STOCK', reservationId: expect.any(String) });
    expect(refused.body.workflowId).toBeUndefined();
    const view = await send('GET', `/reservations/${refused.body.reservationId}`);
    expect(view.body).toMatchObject({ status: 'REJECTED', workflowId: null, rejectReason: 'OUT_OF_STOCK', events: [{ status: 'REJECTED' }] });
    await expect(client.workflow.getHandle(reservationWorkflowId(refused.body.reservationId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect((await send('POST', `/reservations/${refused.body.reservationId}/cancel`)).status).toBe(409);

    // No workflow at all: the notifier's drain tells this customer, as it tells everyone.
    const sent = await eventually(async () => kakao.to(refused.body.reservationId), (m) => m.length > 0);
    const number = demoPhoneFor('c-late').replaceAll('-', '');
    expect(sent.map((m) => [m.kind, m.request.templateCode, m.request.recipientList[0]!.recipientNo])).toEqual([['REJECTED', 'TSHOP_SOLD_OUT', number]]);
    const listed = (await send('GET', `/reservations/${refused.body.reservationId}/notifications`)).body.items;
    expect(listed.map((n: Body) => [n.kind, n.status, n.channel, n.request.recipientList[0].recipientNo])).toEqual([['REJECTED', 'SENT', 'kakao', `${number.slice(0, 3)}****${number.slice(-4)}`]]);

    // The stock a cancellation gives back is reservable again: the fast path reads committed stock.
    expect((await send('POST', `/reservations/${taken.body.id}/cancel`)).status).toBe(202);
    await until(taken.body.id, 'CANCELLED');
    expect((await reserve(product.id, { id: 'c-late', district: '중구' })).status).toBe(201);
    expect(await stockOf(db, product.id)).toBe(0);
  });
});

describe('the happy path: confirmed at the nearest store, notified, completed', () => {
  it('confirms at the store next to the customer, completes, frees the slot and keeps the stock consumed', async () => {
    const product = await newProduct(db, 3);
    const store = await newStore(db, 2);
    const { reserve, send, until } = api();
    const created = await reserve(product.id, { latitude: store.latitude, longitude: store.longitude }, { fulfilment: 'PICKUP' });
    expect(created.status).toBe(201);
    const { id } = created.body;
    const confirmed = await until(id, 'CONFIRMED');
    expect(confirmed).toMatchObject({ statusLabel: { ko: '예약접수완료' }, store: { id: store.id, distanceKm: 0 }, fulfilment: 'PICKUP' });
    expect(confirmed.holdUntil).not.toBeNull();
    expect(await activeAt(db, store.id)).toBe(1);

    const done = await send('POST', `/reservations/${id}/complete`, { by: 'staff-9' });
    expect(done.status).toBe(202);
    const completed = await until(id, 'COMPLETED');
    // Who handed it over is on record in PostgreSQL, not in workflow history.
    expect(await historyText(client.workflow.getHandle(reservationWorkflowId(id)))).not.toContain('staff-9');
    expect(await db.selectFrom('reservation_requests').select(['action', 'requested_by']).where('reservation_id', '=', id).execute()).toEqual([
      { action: 'complete', requested_by: 'staff-9' },
    ]);
    expect(completed.events.map((e: Body) => e.status)).toEqual(['ACCEPTED', 'CONFIRMED', 'COMPLETED']);
    expect(await activeAt(db, store.id)).toBe(0);
    expect(await stockOf(db, product.id)).toBe(2);

    for (const path of [`/reservations/${id}/cancel`, `/reservations/${id}/complete`]) {
      const again = await send('POST', path);
      expect(again.status).toBe(409);
    }
    expect(await stockOf(db, product.id)).toBe(2);

    // Notifications: queued with each change, sent by the notifier to the Kakao endpoint in order, listed by the API.
    const sent = await eventually(async () => kakao.to(id), (m) => m.length === 3);
    expect(sent.map((m) => [m.kind, m.request.templateCode])).toEqual([
      ['ACCEPTED', 'TSHOP_ACCEPTED'],
      ['CONFIRMED', 'TSHOP_CONFIRMED'],
      ['COMPLETED', 'TSHOP_COMPLETED'],
    ]);
    const number = demoPhoneFor('c-life').replaceAll('-', '');
    expect(sent.every((m) => m.request.senderKey === kakao.env.KAKAO_SENDER_KEY && m.request.recipientList[0]!.recipientNo === number)).toBe(true);
    expect(Object.values(sent[1]!.request.recipientList[0]!.templateParameter)).toContain(`Test store ${store.id}`);
    expect(kakao.requests.filter((r) => r.key.includes(id)).every((r) => r.apiKeyOk)).toBe(true);
    // The endpoint has the third message; its row is settled as SENT just after the answer came back.
    const listed = await eventually(
      () => send('GET', `/reservations/${id}/notifications`),
      (res) => res.body.items.every((n: Body) => n.status === 'SENT'),
    );
    expect(listed.body.items.map((n: Body) => [n.kind, n.status, n.channel, n.templateCode])).toEqual([
      ['ACCEPTED', 'SENT', 'kakao', 'TSHOP_ACCEPTED'],
      ['CONFIRMED', 'SENT', 'kakao', 'TSHOP_CONFIRMED'],
      ['COMPLETED', 'SENT', 'kakao', 'TSHOP_COMPLETED'],
    ]);
  });

  it('cancel after confirmation: assignment released, stock restored, customer told', async () => {
    const product = await newProduct(db, 1);
    const store = await newStore(db, 1);
    const { reserve, send, until } = api();
    const { id } = (await reserve(product.id, { latitude: store.latitude, longitude: store.longitude })).body;
    await until(id, 'CONFIRMED');
    expect(await activeAt(db, store.id)).toBe(1);
    expect((await send('PATCH', `/reservations/${id}`, { status: 'CANCELLED' })).status).toBe(202);
    const cancelled = await until(id, 'CANCELLED');
    expect(cancelled.events.map((e: Body) => e.status)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);
    await eventually(() => activeAt(db, store.id), (n) => n === 0);
    expect(await stockOf(db, product.id)).toBe(1);
    expect((await movesOf(db, id)).map((m) => m.kind)).toEqual(['RESERVE', 'RELEASE']);
    const sent = await eventually(async () => kakao.to(id).map((m) => m.request.templateCode), (k) => k.includes('TSHOP_CANCELLED'));
    expect(sent).toEqual(['TSHOP_ACCEPTED', 'TSHOP_CONFIRMED', 'TSHOP_CANCELLED']);
  });
});

describe('the assignment rule', () => {
  it('prefers the nearest store but spreads load to a nearly-as-close idle one, never above capacity', async () => {
    const a = await newStore(db, 10);
    // B is about 0.6 km north of A.
    await assignmentTables(db).updateTable('assignment.stores').set({ latitude: a.latitude + 0.0054, longitude: a.longitude }).where('id', '=', (await newStore(db, 10)).id).execute();
    const b = (await assignmentTables(db).selectFrom('assignment.stores').select('id').where('latitude', '=', a.latitude + 0.0054).executeTakeFirstOrThrow()).id;
    const picks: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(newReservationId());
      const r = await assignStore(assignmentTables(db), { reservationId: ids[i]!, latitude: a.latitude, longitude: a.longitude });
      if (r.outcome === 'ASSIGNED') picks.push(r.assignment.storeId === a.id ? 'A' : r.assignment.storeId === b ? 'B' : 'other');
    }
    for (const id of ids) await releaseAssignment(assignmentTables(db), id);
    // A scores 0.5 km × (1 + load/10), B 0.6 km × (1 + load/10): 0.5, 0.55, 0.6 (tie: nearer wins),
    // then A's 0.65 loses to B's 0.6; A's 0.65 beats B's 0.66; A's 0.7 loses to B's 0.66.
    expect(picks).toEqual(['A', 'A', 'A', 'B', 'A', 'B']);
  });

  it('claims capacity atomically under concurrency', async () => {
    const s = await newStore(db, 3);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => assignStore(assignmentTables(db), { reservationId: newReservationId(), latitude: s.latitude, longitude: s.longitude })),
    );
    const atStore = results.filter((r) => r.outcome === 'ASSIGNED' && r.assignment.storeId === s.id);
    expect(atStore).toHaveLength(3);
    expect(await activeAt(db, s.id)).toBe(3);
    // The overflow went to other stores (other tests' among them): give those slots back.
    for (const r of results) if (r.outcome === 'ASSIGNED') await releaseAssignment(assignmentTables(db), r.assignment.reservationId);
  });
});

/**
 * A reservation for the unit of a new product, next to a new store, confirmed for central delivery
 * because the assignment service was down past the deadline; the service is back afterwards.
 */
async function confirmedForDelivery() {
  const product = await newProduct(db, 1);
  const store = await newStore(db, 1);
  const { reserve, send, until } = api({ ...DEFAULT_TEST_POLICY, assignmentDeadlineMs: 2_000 });
  await assignment.stop();
  try {
    const { id } = (await reserve(product.id, { latitude: store.latitude, longitude: store.longitude }, { fulfilment: 'PICKUP' })).body as { id: string };
    expect(await until(id, 'CONFIRMED', 20_000)).toMatchObject({ fulfilment: 'DELIVERY', store: { id: CENTRAL_STORE.id } });
    return { product, store, id, send, until };
  } finally {
    await assignment.start();
  }
}

describe('fault isolation: the assignment service may be down', () => {
  // Its waits each bound a hang only; on a loaded machine together they may outlast the default timeout.
  it('keeps accepting promptly while it is down; once back, every reservation is confirmed exactly once', { timeout: 180_000 }, async () => {
    const product = await newProduct(db, 5);
    const store = await newStore(db, 5);
    const { reserve, get, until } = api();
    await assignment.stop();
    try {
      // Answered while the service is down (it comes back only below), before any store: the answer
      // waits for the stock decision alone. One that waited for a store would meet the 40 s decision
      // deadline and answer 503.
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => reserve(product.id, { id: `c-down-${i}`, latitude: store.latitude, longitude: store.longitude })));
      for (const a of answers) expect([a.status, a.body.status, a.body.store]).toEqual([201, 'ACCEPTED', null]);
      // Each has been refused a store and has tried again, and is still waiting for one.
      for (const a of answers) await eventually(async () => assignAttemptsOf.get(a.body.id) ?? 0, (n) => n >= 2, 30_000);
      for (const a of answers) expect((await get(a.body.id)).status).toBe('ACCEPTED');
      await assignment.start();
      for (const a of answers) expect((await until(a.body.id, 'CONFIRMED')).store.id).toBe(store.id);
      expect(await activeAt(db, store.id)).toBe(4);
      const rows = await assignmentTables(db).selectFrom('assignment.assignments').selectAll().where('store_id', '=', store.id).execute();
      expect(rows).toHaveLength(4);
    } finally {
      await assignment.start();
    }
  });

  it('cancels a reservation whose assignment is still retrying: stock back at once, the slot released once the service is back', async () => {
    const product = await newProduct(db, 1);
    const store = await newStore(db, 1);
    const { reserve, send, get, until } = api();
    await assignment.stop();
    try {
      const { id } = (await reserve(product.id, { latitude: store.latitude, longitude: store.longitude })).body;
      expect((await get(id)).status).toBe('ACCEPTED');
      expect((await send('POST', `/reservations/${id}/cancel`, { reason: 'no store yet' })).status).toBe(202);
      const cancelled = await until(id, 'CANCELLED', 5_000);
      expect(cancelled.store).toBeNull();
      expect(await stockOf(db, product.id)).toBe(1);
      // The release must still reach the assignment service (a late assign may have claimed a slot).
      const workflow = client.workflow.getHandle(reservationWorkflowId(id));
      expect((await workflow.describe()).status.name).toBe('RUNNING');
      await assignment.start();
      await workflow.result();
      expect(await activeAt(db, store.id)).toBe(0);
      const row = await assignmentTables(db).selectFrom('assignment.assignments').select('status').where('reservation_id', '=', id).executeTakeFirst();
      expect(row?.status).toBe('RELEASED');
    } finally {
      await assignment.start();
    }
  });

  it('opens the breaker under repeated failures (the service sees far fewer calls than attempts) and closes it on recovery', async () => {
    const product = await newProduct(db, 8);
    const store = await newStore(db, 8);
    const { reserve, until } = api();
    assignment.setFailing(true);
    try {
      const ids = (
        await Promise.all(Array.from({ length: 8 }, (_, i) => reserve(product.id, { id: `c-brk-${i}`, latitude: store.latitude, longitude: store.longitude })))
      ).map((a) => a.body.id as string);
      await eventually(async () => breaker.state(), (s) => s === 'open');
      // Once it is open, two more attempts per reservation: refused without a call, but for one trial
      // call each time it half-opens (the attempts it refused meanwhile are retried at that time).
      const [callsAtOpen, attemptsAtOpen] = [assignment.calls(), assignAttempts];
      const attempts = await eventually(async () => assignAttempts - attemptsAtOpen, (n) => n >= 16, 60_000);
      const calls = assignment.calls() - callsAtOpen;
      expect(calls, `${calls} calls for ${attempts} attempts`).toBeLessThan(attempts / 2);
      assignment.setFailing(false);
      // Each store call waits out its backoff (up to 30 s apart) before it meets the recovered service.
      for (const id of ids) await until(id, 'CONFIRMED', 60_000);
      expect(breaker.state()).toBe('closed');
    } finally {
      assignment.setFailing(false);
    }
  });

  it('confirms for delivery from the central store when the deadline passes, and says so', async () => {
    const product = await newProduct(db, 1);
    const { reserve, until } = api({ ...DEFAULT_TEST_POLICY, assignmentDeadlineMs: 3_000 });
    await assignment.stop();
    try {
      const { id } = (await reserve(product.id, { district: '송파구' }, { fulfilment: 'PICKUP' })).body;
      const confirmed = await until(id, 'CONFIRMED', 20_000);
      expect(confirmed).toMatchObject({ fulfilment: 'DELIVERY', store: { id: CENTRAL_STORE.id, distanceKm: null } });
      const note = await eventually(
        () => db.selectFrom('notifications').selectAll().where('reservation_id', '=', id).where('kind', '=', 'CONFIRMED').executeTakeFirst(),
        (n) => n?.sent_at != null,
      );
      expect(note!.template_code).toBe('TSHOP_DELIVERY');
      expect(note!.message_en).toMatch(/ship it to you/);
    } finally {
      await assignment.start();
    }
  });

  it('re-drives a fallback on the operator\'s `reassign` signal: moved to the nearest store, customer told, undone on cancel', async () => {
    const { product, store, id, send, until } = await confirmedForDelivery();
    // As an operator sends it from the Web UI or `temporal workflow signal --name reassign`.
    await client.workflow.getHandle(reservationWorkflowId(id)).signal('reassign', { by: 'ops-1' });
    const moved = await eventually(async () => (await send('GET', `/reservations/${id}`)).body, (r: Body) => r.store?.id === store.id, 20_000);
    expect(moved).toMatchObject({ status: 'CONFIRMED', fulfilment: 'PICKUP', store: { id: store.id, distanceKm: 0 } });
    expect(moved.events.map((e: Body) => e.status)).toEqual(['ACCEPTED', 'CONFIRMED', 'CONFIRMED']);
    expect(await activeAt(db, store.id)).toBe(1);
    const templates = await eventually(async () => kakao.to(id).map((m) => m.request.templateCode), (k) => k.includes('TSHOP_REASSIGNED'));
    expect(templates).toEqual(['TSHOP_ACCEPTED', 'TSHOP_DELIVERY', 'TSHOP_REASSIGNED']);

    expect((await send('POST', `/reservations/${id}/cancel`)).status).toBe(202);
    await until(id, 'CANCELLED');
    // The stock is back with CANCELLED; the slot follows as soon as the assignment service answers.
    await eventually(() => activeAt(db, store.id), (n) => n === 0);
    expect(await stockOf(db, product.id)).toBe(1);
  });
});

describe('edges of the lifecycle', () => {
  const keyed = (app: ReturnType<typeof testApp>, id: string, key: string) =>
    app.request(`/reservations/${id}/cancel`, { method: 'POST', headers: { 'idempotency-key': key } });

  it('can be cancelled right after the 201, before anything else happened to it', async () => {
    const product = await newProduct(db, 4);
    const { reserve, send, until } = api();
    const cancels = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const { id } = (await reserve(product.id, { id: `c-quick-${i}`, district: '강남구' })).body;
        const answer = i % 2 ? await send('PATCH', `/reservations/${id}`, { status: '예약취소' }) : await send('POST', `/reservations/${id}/cancel`);
        return { id, status: answer.status };
      }),
    );
    expect(cancels.map((c) => c.status)).toEqual([202, 202, 202, 202]);
    for (const { id } of cancels) await until(id, 'CANCELLED');
    expect(await stockOf(db, product.id)).toBe(4);
  });

  it('a keyed cancel that could not be sent is sent by its repeat, and a refused one is refused again', async () => {
    const product = await newProduct(db, 1);
    const { reserve, until } = api();
    const { id } = (await reserve(product.id, { district: '송파구' })).body;
    await until(id, 'CONFIRMED');
    // The first attempt meets a Temporal it cannot reach.
    const lost = await Connection.connect({ address: (client.connection as Connection).options.address });
    await lost.close();
    const unreachable = testApp(db, new Client({ connection: lost }), worker.taskQueue);
    const first = await keyed(unreachable, id, 'cancel-once');
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect((await api().get(id)).status).toBe('CONFIRMED');
    // The key is kept only once the signal went out (an API killed before that leaves none either).
    expect(await db.selectFrom('idempotency_keys').select('key').where('scope', '=', `cancel:${id}`).execute()).toEqual([]);
    const app = testApp(db, client, worker.taskQueue);
    expect((await keyed(app, id, 'cancel-once')).status).toBe(202);
    await until(id, 'CANCELLED');
    expect(await stockOf(db, product.id)).toBe(1);
    // Cancelled now: a cancel is refused, and so is its repeat.
    expect((await keyed(app, id, 'cancel-twice')).status).toBe(409);
    expect((await keyed(app, id, 'cancel-twice')).status).toBe(409);
  });

  it('completes a central-delivery reservation whose late store slot was released', async () => {
    const { product, store, id, send, until } = await confirmedForDelivery();
    await eventually(() => activeAt(db, store.id), (n) => n === 0);
    expect((await send('POST', `/reservations/${id}/complete`, { by: 'ops-2' })).status).toBe(202);
    expect((await until(id, 'COMPLETED')).events.map((e: Body) => e.status)).toEqual(['ACCEPTED', 'CONFIRMED', 'COMPLETED']);
    const handle = client.workflow.getHandle(reservationWorkflowId(id));
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await stockOf(db, product.id)).toBe(0);
  });

  it('a decision that committed but lost its answer: 503, the stock back, and the customer told', async () => {
    const product = await newProduct(db, 1);
    answerLostFor.add(product.id);
    const { reserve, until } = api();
    const answer = await reserve(product.id, { district: '마포구' });
    expect(answer.status).toBe(503);
    expect(answer.body.code).toBe('STOCK_UNAVAILABLE');
    const id = answer.body.reservationId as string;
    await until(id, 'REJECTED');
    expect(await stockOf(db, product.id)).toBe(1);
    const told = await eventually(
      () => db.selectFrom('notifications').select(['kind', 'template_code', 'sent_at']).where('reservation_id', '=', id).orderBy('id').execute(),
      (rows) => rows.length === 2 && rows.every((r) => r.sent_at !== null),
    );
    expect(told.map((n) => [n.kind, n.template_code])).toEqual([
      ['ACCEPTED', 'TSHOP_ACCEPTED'],
      ['REJECTED', 'TSHOP_REJECTED'],
    ]);
  });
});

describe('hold period', () => {
  it('reminds, then expires an uncollected reservation with full compensation', async () => {
    const product = await newProduct(db, 1);
    const store = await newStore(db, 1);
    const { reserve, until } = api({ assignmentDeadlineMs: 60_000, holdPeriodMs: 4_000, reminderBeforeMs: 2_000 });
    const { id } = (await reserve(product.id, { latitude: store.latitude, longitude: store.longitude })).body;
    await until(id, 'CONFIRMED');
    const expired = await until(id, 'EXPIRED', 20_000);
    expect(expired.statusLabel.ko).toBe('기간만료');
    expect(await stockOf(db, product.id)).toBe(1);
    // The slot is released beside the stock, as soon as the assignment service answers.
    await eventually(() => activeAt(db, store.id), (n) => n === 0);
    const kinds = (await db.selectFrom('notifications').select('kind').where('reservation_id', '=', id).orderBy('id').execute()).map((n) => n.kind);
    expect(kinds).toEqual(['ACCEPTED', 'CONFIRMED', 'REMINDER', 'EXPIRED']);
  });

  it('a hand-over after the hold ended is refused (HOLD_ENDED), though the read model still says CONFIRMED', async () => {
    const product = await newProduct(db, 1);
    const store = await newStore(db, 1);
    const { reserve, send, until } = api({ assignmentDeadlineMs: 60_000, holdPeriodMs: 2_000, reminderBeforeMs: 0 });
    const { id } = (await reserve(product.id, { latitude: store.latitude, longitude: store.longitude })).body;
    let open!: () => void;
    releaseGates.set(id, new Promise<void>((r) => (open = r)));
    const confirmed = await until(id, 'CONFIRMED');
    await new Promise((r) => setTimeout(r, Date.parse(confirmed.holdUntil) - Date.now() + 200));
    // The workflow is expiring it (its stock release is held up): the staff must not be told 202.
    const late = await send('POST', `/reservations/${id}/complete`, { by: 'staff-late' });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'HOLD_ENDED', reservationStatus: 'CONFIRMED', holdUntil: confirmed.holdUntil });
    open();
    await until(id, 'EXPIRED');
    expect(await stockOf(db, product.id)).toBe(1);
  });
});

describe('read view', () => {
  it('lists by customer, status, product and store, newest first, with an opaque cursor', async () => {
    const product = await newProduct(db, 5);
    const store = await newStore(db, 5);
    const { reserve, send, until } = api();
    // This customer holds three: the desk allows three per customer here.
    await db.updateTable('sales').set({ unit_limit: 3 }).where('product_id', '=', product.id).execute();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await reserve(product.id, { id: 'c-list', latitude: store.latitude, longitude: store.longitude })).body.id);
    for (const id of ids) await until(id, 'CONFIRMED');
    const first = await send('GET', `/reservations?customerId=c-list&productId=${product.id}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((r: Body) => r.id)).toEqual([ids[2], ids[1]]);
    const second = await send('GET', `/reservations?customerId=c-list&productId=${product.id}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((r: Body) => r.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();
    const byStore = await send('GET', `/reservations?storeId=${store.id}&status=CONFIRMED`);
    expect(byStore.body.items).toHaveLength(3);
    expect((await send('GET', '/reservations?cursor=bogus')).status).toBe(400);
    // Any position the pattern admits is a page (the one after it), here past the end.
    const past = await send('GET', `/reservations?customerId=c-list&productId=${product.id}&cursor=1.${ids[0]}`);
    expect([past.status, past.body.items]).toEqual([200, []]);
    expect((await send('GET', '/reservations?status=NOPE')).status).toBe(400);
  });

  it('ends with every invariant holding', async () => {
    expect(await checkInvariants(db)).toEqual({ ok: true, violations: [] });
  });
});
