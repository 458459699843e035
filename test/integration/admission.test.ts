/**
 * Launch-day admission against the real PostgreSQL and Temporal: never more claims than units, even
 * from several API processes at once; a lost claim ends with its lease; a freed unit is offered again;
 * a request that cannot be decided at once gets a place in line, never a "try again".
 */
import type { Client, Connection } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createStockActivities } from '../../app/product/activities.js';
import { admit, releaseClaim } from '../../app/launch/admission.js';
import { outboxEntry } from '../../app/notification/repository.js';
import { insertRefusals, readModelRow } from '../../app/reservation/repository.js';
import { checkInvariants } from '../../db/invariants.js';
import type { Database } from '../../db/schema.js';
import { newReservationId } from '../../platform/ids.js';
import type { ReservationInput } from '../../app/reservation/contract.js';
import {
  ADMIN,
  connectClient,
  eventually,
  DEFAULT_TEST_POLICY,
  newProduct,
  openTestDb,
  startAssignmentService,
  startTestWorker,
  stockOf,
  TEST_JWT_SECRET,
  testApp,
  tokenFor,
  type TestAssignmentService,
  type TestWorker,
} from '../helpers.js';
import { startPart, type Launched } from '../../dev/stack.js';

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let assignment: TestAssignmentService;
let worker: TestWorker;

beforeAll(async () => {
  db = await openTestDb();
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
  worker = await startTestWorker(db, { assignmentUrl: assignment.url });
});
afterAll(async () => {
  await worker?.stop();
  await assignment?.stop();
  await connection?.close();
  await db?.destroy();
});

/** A ticket's admission (no gate but units and allowance), each for a customer of its own. */
const claimOf = (productId: number, leaseMs = 10_000) => {
  const reservationId = newReservationId();
  return { reservationId, productId, quantity: 1, leaseMs, holders: [`customer:c-${reservationId}`], via: 'line' as const, maxInFlight: 1_000 };
};

async function claimed(productId: number) {
  const product = await db.selectFrom('products').select(['claimed', 'stock']).where('id', '=', productId).executeTakeFirstOrThrow();
  const claims = await db.selectFrom('stock_claims').select('quantity').where('product_id', '=', productId).execute();
  return { claimed: product.claimed, stock: product.stock, claims: claims.reduce((sum, c) => sum + c.quantity, 0) };
}

const input = (productId: number, reservationId: string): ReservationInput => ({
  reservationId,
  productId,
  quantity: 1,
  customerId: 'c-admission',
  fulfilment: 'PICKUP',
  policy: DEFAULT_TEST_POLICY,
});

describe('admission', () => {
  it('never admits more than the units, however many ask at once', async () => {
    const product = await newProduct(db, 20);
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => admit(db, claimOf(product.id))));
    expect(outcomes.filter((o) => o.outcome === 'ADMITTED')).toHaveLength(20);
    expect(outcomes.filter((o) => o.outcome === 'HELD')).toHaveLength(180);
    expect(await claimed(product.id)).toEqual({ claimed: 20, stock: 20, claims: 20 });
  });

  it('answers SOLD_OUT when the stock is below the quantity, and UNKNOWN_PRODUCT for a product that does not exist', async () => {
    const product = await newProduct(db, 0);
    expect((await admit(db, claimOf(product.id))).outcome).toBe('SOLD_OUT');
    expect((await admit(db, claimOf(999_999))).outcome).toBe('UNKNOWN_PRODUCT');
    expect(await claimed(product.id)).toEqual({ claimed: 0, stock: 0, claims: 0 });
  });

  it('ends a claim whose decision never came once its lease runs out, and offers the unit again', async () => {
    const product = await newProduct(db, 2);
    // Leases no load outlasts, ending where they were asked to: the units are held meanwhile.
    const leaseMs = 60_000;
    for (let i = 0; i < 2; i++) expect((await admit(db, claimOf(product.id, leaseMs))).outcome).toBe('ADMITTED');
    expect((await admit(db, claimOf(product.id))).outcome).toBe('HELD');
    const { rows: leases } = await sql<{ live: boolean; within: boolean }>`
      select expires_at > now() as live, expires_at <= now() + ${leaseMs}::int * interval '1 millisecond' as within
      from stock_claims where product_id = ${product.id}`.execute(db);
    expect(leases).toEqual([{ live: true, within: true }, { live: true, within: true }]);
    // The leases run out (their end moved to now, as the clock would move on).
    await db.updateTable('stock_claims').set({ expires_at: sql`now()` }).where('product_id', '=', product.id).execute();
    expect((await admit(db, claimOf(product.id))).outcome).toBe('ADMITTED');
    // Both expired claims were swept; the new one holds a unit.
    expect(await claimed(product.id)).toEqual({ claimed: 1, stock: 2, claims: 1 });
  });

  it('ends the claim with the stock decision, and offers again a unit freed by a failed decision or a cancellation', async () => {
    const product = await newProduct(db, 1);
    const stock = createStockActivities({ db });
    // A decision consumes its claim: the unit is now stock taken, and nothing is left to admit.
    const first = claimOf(product.id);
    expect((await admit(db, first)).outcome).toBe('ADMITTED');
    expect(await stock.reserveStock(input(product.id, first.reservationId))).toEqual({ accepted: true });
    expect(await claimed(product.id)).toEqual({ claimed: 0, stock: 0, claims: 0 });
    expect((await admit(db, claimOf(product.id))).outcome).toBe('SOLD_OUT');

    // A cancellation gives the unit back: it is offered again.
    await stock.releaseStock({ reservationId: first.reservationId, final: { status: 'CANCELLED', version: 2 } });
    const second = claimOf(product.id);
    expect((await admit(db, second)).outcome).toBe('ADMITTED');
    expect((await admit(db, claimOf(product.id))).outcome).toBe('HELD');

    // A decision that could not be made gives its claim up: the unit is offered again.
    await stock.abandonReservation({ input: input(product.id, second.reservationId), version: 2 });
    expect(await claimed(product.id)).toEqual({ claimed: 0, stock: 1, claims: 0 });
    expect((await admit(db, claimOf(product.id))).outcome).toBe('ADMITTED');
  });
});

describe('sold-out refusals', () => {
  it('are recorded in groups: each with its event, contact and notification, an existing one left as it is', async () => {
    const product = await newProduct(db, 0);
    const refusal = (i: number) => {
      const id = newReservationId();
      const row = { ...readModelRow(input(product.id, id), 1), customerId: `c-group-${i}`, workflowId: null, status: 'REJECTED' as const, rejectReason: 'OUT_OF_STOCK' };
      const contact = { reservationId: id, customerId: `c-group-${i}`, name: `이름 ${i}`, phone: null, district: '중구', latitude: 37.56, longitude: 126.99 };
      const notification = outboxEntry('REJECTED', { productName: product.name, status: 'REJECTED', fulfilment: 'PICKUP' });
      return { row, contact, notification };
    };
    const group = [refusal(1), refusal(2), refusal(3)];
    await insertRefusals(db, group.slice(0, 1));
    await insertRefusals(db, group);
    const ids = group.map((r) => r.row.id);
    const rows = await db.selectFrom('reservations').select(['id', 'status', 'workflow_id']).where('id', 'in', ids).execute();
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.status === 'REJECTED' && r.workflow_id === null)).toBe(true);
    const events = await db.selectFrom('reservation_events').select('reservation_id').where('reservation_id', 'in', ids).execute();
    const contacts = await db.selectFrom('reservation_contacts').select(['reservation_id', 'name']).where('reservation_id', 'in', ids).execute();
    const notes = await db.selectFrom('notifications').select(['reservation_id', 'kind', 'payload']).where('reservation_id', 'in', ids).execute();
    expect([events.length, contacts.length, notes.length]).toEqual([3, 3, 3]);
    // No workflow will deliver them: the notifier's drain does, filling the sold-out template from these facts.
    expect(notes.every((n) => n.payload.reason === 'OUT_OF_STOCK' && n.payload.productName === product.name)).toBe(true);
    expect(contacts.find((c) => c.reservation_id === ids[1])?.name).toBe('이름 2');

    // A customer is refused (and told) a sold-out product once: their repeats, together or later, record nothing.
    const again = [refusal(2), refusal(2)];
    expect(await insertRefusals(db, again)).toEqual([ids[1], ids[1]]);
    const repeats = await db.selectFrom('reservations').select('id').where('id', 'in', again.map((r) => r.row.id)).execute();
    expect(repeats).toEqual([]);
  });
});

describe('POST /reservations while every unit left is held', () => {
  it('answers 202 with a place in line and records no reservation; the ticket gets the unit once it is free', async () => {
    const product = await newProduct(db, 1);
    const inFlight = claimOf(product.id);
    expect((await admit(db, inFlight)).outcome).toBe('ADMITTED');
    const { app, request } = testApp(db, client, worker.taskQueue);
    try {
      const held = await request('/reservations', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `held-${product.id}-key` },
        body: JSON.stringify({ productId: product.id, customer: { id: 'c-held', district: '강남구' } }),
      });
      expect(held.status).toBe(202);
      const ticket = (await held.json()) as { id: string; status: string; position: number; ahead: number };
      expect(held.headers.get('location')).toBe(`/tickets/${ticket.id}`);
      expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(ticket).toMatchObject({ status: 'WAITING', position: 1, ahead: 0 });
      const recorded = await db.selectFrom('reservations').select('id').where('product_id', '=', product.id).execute();
      expect(recorded).toEqual([]);

      // The decision in flight failed: its unit is free, and the line gives it to the ticket.
      await releaseClaim(db, inFlight.reservationId);
      const ended = await eventually(
        async () => (await (await request(`/tickets/${ticket.id}`)).json()) as { status: string; reservationId: string | null },
        (t) => t.status === 'RESERVED',
      );
      expect(await stockOf(db, product.id)).toBe(0);
      const reservation = await db.selectFrom('reservations').select(['status', 'workflow_id']).where('id', '=', ended.reservationId!).executeTakeFirstOrThrow();
      expect(reservation.workflow_id).not.toBeNull();
    } finally {
      await app.close();
    }
  });
});

describe('a product with no stock at all', () => {
  it('is refused from memory for a moment, then asked about again: a unit given back is offered once the memory lapses', async () => {
    const product = await newProduct(db, 0);
    // The memory's clock is this process's Date.now(), which the test moves on: a moment no load
    // outlasts, then past it at once.
    const soldOutMemoryMs = 20_000;
    let skew = 0;
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    try {
      const { request } = testApp(db, client, worker.taskQueue, DEFAULT_TEST_POLICY, { admission: { leaseMs: 10_000, soldOutMemoryMs, maxInFlight: 32 } });
      const reserve = () =>
        request('/reservations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ productId: product.id, customer: { id: 'c-memory', district: '중구' } }) });
      expect((await reserve()).status).toBe(409);
      await db.updateTable('products').set({ stock: 1 }).where('id', '=', product.id).execute();
      await db.insertInto('stock_ledger').values({ product_id: product.id, reservation_id: null, kind: 'RESTOCK', delta: 1, idempotency_key: `restock-memory-${product.id}` }).execute();
      const remembered = await reserve();
      expect(remembered.status).toBe(409);
      expect(await remembered.json()).toMatchObject({ code: 'OUT_OF_STOCK' });
      skew = soldOutMemoryMs + 1;
      expect((await reserve()).status).toBe(201);
    } finally {
      clock.mockRestore();
    }
    // The customer was refused (and told) once: the repeat was answered with the first refusal.
    const refused = await db.selectFrom('reservations').select('id').where('product_id', '=', product.id).where('status', '=', 'REJECTED').execute();
    expect(refused).toHaveLength(1);
  });
});

describe('several API processes at once', () => {
  const apis: Launched[] = [];
  afterAll(() => apis.forEach((api) => api.kill()));

  it('admit exactly the units between them, and the excess never starts a workflow', async () => {
    const ports = [18111, 18112, 18113];
    await Promise.all(
      ports.map(async (port) => {
        const api = await startPart('api', {
          env: {
            ...process.env,
            API_METRICS_PORT: '0',
            DATABASE_URL: inject('databaseUrl'),
            TEMPORAL_ADDRESS: inject('temporalAddress'),
            TEMPORAL_TASK_QUEUE: worker.taskQueue,
            JWT_SECRET: TEST_JWT_SECRET,
            PORT: String(port),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
          },
          readyTimeoutMs: 60_000,
        });
        apis.push(api);
      }),
    );
    const units = 15;
    const product = await newProduct(db, units);
    const authorization = `Bearer ${await tokenFor(ADMIN)}`;
    // A customer's app: a reservation at once, or a place in line followed until it ends.
    const customer = async (i: number) => {
      const base = `http://127.0.0.1:${ports[i % ports.length]}`;
      const res = await fetch(`${base}/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ productId: product.id, customer: { id: `c-multi-${i}`, district: '마포구' } }),
      });
      const body = (await res.json()) as { code?: string; id?: string; status?: string };
      if (res.status !== 202) return { status: res.status, code: body.code, queued: false };
      for (;;) {
        const follow = await fetch(`${base}/tickets/${body.id}`, { headers: { authorization } });
        const ticket = (await follow.json()) as { status: string; pollAfterSeconds: number | null };
        if (ticket.status === 'RESERVED') return { status: 201, queued: true };
        if (ticket.status === 'SOLD_OUT') return { status: 409, code: 'OUT_OF_STOCK', queued: true };
        if (ticket.pollAfterSeconds === null) return { status: 0, code: ticket.status, queued: true };
        await new Promise((r) => setTimeout(r, Math.min(ticket.pollAfterSeconds!, 1) * 1000));
      }
    };
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => customer(i)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(units);
    expect(answers.filter((a) => a.status === 409 && a.code === 'OUT_OF_STOCK')).toHaveLength(120 - units);
    const started = await db.selectFrom('reservations').select('id').where('product_id', '=', product.id).where('workflow_id', 'is not', null).execute();
    expect(started).toHaveLength(units);
    expect(await claimed(product.id)).toEqual({ claimed: 0, stock: 0, claims: 0 });
    const report = await checkInvariants(db);
    expect(report.violations.filter((v) => v.startsWith(`product ${product.id}:`))).toEqual([]);
  });
});
