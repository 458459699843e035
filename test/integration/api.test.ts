/** The public API contract: who may do what, bad input, idempotency, and responses that match /openapi.json. */
import type { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/schema.js';
import { signToken, type Principal } from '../../platform/auth.js';
import {
  ADMIN,
  connectClient,
  eventually,
  newProduct,
  newStore,
  openTestDb,
  startAssignmentService,
  startTestWorker,
  stockOf,
  testApp,
  TEST_JWT_SECRET,
  tokenFor,
  type TestAssignmentService,
  type TestWorker,
  assignmentTables,
} from '../helpers.js';
import { listen } from '../../platform/http.js';
import { responseValidator } from '../openapi.js';

let db: Kysely<Database>;
let connection: Connection;
let client: Client;
let assignment: TestAssignmentService;
let worker: TestWorker;
let api: ReturnType<typeof testApp>;
let contract: ReturnType<typeof responseValidator>;

beforeAll(async () => {
  db = await openTestDb();
  ({ connection, client } = await connectClient());
  assignment = await startAssignmentService(db);
  worker = await startTestWorker(db, { assignmentUrl: assignment.url });
  api = testApp(db, client, worker.taskQueue);
  const doc = await api.request('/openapi.json', {}, null);
  expect(doc.status).toBe(200);
  contract = responseValidator((await doc.json()) as Parameters<typeof responseValidator>[0]);
});
afterAll(async () => {
  await worker?.stop();
  await assignment?.stop();
  await connection?.close();
  await db?.destroy();
});

// `any`: bodies are asserted field by field
type Body = any;
interface Sent {
  status: number;
  body: Body;
  headers: Headers;
}

/** Sends a request to a route (given by its documented template) and checks the answer against the contract. */
async function call(
  as: Principal | null,
  method: string,
  template: string,
  params: Record<string, string | number> = {},
  init: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Sent> {
  const path = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(params[k])));
  const headers: Record<string, string> = { ...init.headers };
  if ((init.body !== undefined || init.raw !== undefined) && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await api.request(path, { method, headers, body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)) }, as);
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  expect(res.status, `${method} ${path} must never answer 5xx: ${JSON.stringify(body)}`).toBeLessThan(500);
  if (type.includes('json')) contract.validate(method, template.split('?')[0]!, res.status, type, body);
  return { status: res.status, body, headers: res.headers };
}

const customer = (sub: string): Principal => ({ role: 'customer', sub });
const staff = (storeId: string): Principal => ({ role: 'store', sub: `staff-${storeId}`, storeId });

/** A reservation confirmed at `store`, made by an admin for `customerId`. */
async function confirmed(productId: number, customerId: string, store: { latitude: number; longitude: number }) {
  const r = await call(ADMIN, 'POST', '/reservations', {}, { body: { productId, customer: { id: customerId, latitude: store.latitude, longitude: store.longitude } } });
  expect(r.status).toBe(201);
  await eventually(async () => (await call(ADMIN, 'GET', '/reservations/{id}', { id: r.body.id })).body.status, (s) => s === 'CONFIRMED');
  return r.body.id as string;
}

/** What a refused request must leave untouched (scoped to what it touches, as other suites run meanwhile). */
async function snapshot(productId: number) {
  const count = (table: 'stock_ledger' | 'reservations') =>
    db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('product_id', '=', productId).executeTakeFirstOrThrow();
  const [product, ledger, reservations, store] = await Promise.all([
    db.selectFrom('products').select(['name', 'brand', 'price_krw', 'stock']).where('id', '=', productId).executeTakeFirstOrThrow(),
    count('stock_ledger'),
    count('reservations'),
    assignmentTables(db).selectFrom('assignment.stores').select(['capacity', 'is_open']).where('id', '=', 'gangnam').executeTakeFirstOrThrow(),
  ]);
  return { product, ledger: ledger.n, reservations: reservations.n, store };
}

describe('who may do what', () => {
  it('answers every role on every route as the rules say', async () => {
    const product = await newProduct(db, 50);
    const store = await newStore(db, 20);
    const otherStore = await newStore(db, 20);
    const mine = customer('c-own');
    const other = customer('c-other');
    const myStaff = staff(store.id);
    const otherStaff = staff(otherStore.id);
    const own = await confirmed(product.id, 'c-own', store);
    const theirs = await confirmed(product.id, 'c-other', otherStore);

    const expectStatus = async (expected: number, ...args: Parameters<typeof call>) => {
      const r = await call(...args);
      expect(r.status, `${args[0]?.role ?? 'anonymous'} ${args[1]} ${args[2]} ${JSON.stringify(args[3])}: ${JSON.stringify(r.body)}`).toBe(expected);
      return r;
    };

    // Public routes.
    for (const route of ['/healthz', '/readyz']) await expectStatus(200, null, 'GET', route);
    expect((await api.request('/openapi.json', {}, null)).status).toBe(200);
    expect((await api.request('/docs', {}, null)).status).toBe(200);

    // No token, a bad token: 401 everywhere else.
    for (const [method, route] of [['GET', '/products'], ['GET', '/reservations'], ['POST', '/reservations'], ['GET', '/stores'], ['GET', '/launch-desk']] as const) {
      const r = await expectStatus(401, null, method, route, {}, method === 'POST' ? { body: { productId: product.id } } : {});
      expect(r.body.code).toBe('UNAUTHENTICATED');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }

    // Catalogue and stores: everyone reads; only admins change.
    for (const who of [mine, myStaff, ADMIN]) {
      await expectStatus(200, who, 'GET', '/products');
      await expectStatus(200, who, 'GET', '/products/{id}', { id: product.id });
      await expectStatus(200, who, 'GET', '/stores');
    }
    for (const who of [mine, myStaff]) {
      expect((await expectStatus(403, who, 'POST', '/products', {}, { body: { sku: 'nope-1', name: 'x', brand: 'x', priceKrw: 1 } })).body.code).toBe('FORBIDDEN');
      await expectStatus(403, who, 'PATCH', '/products/{id}', { id: product.id }, { body: { priceKrw: 1 } });
      await expectStatus(403, who, 'POST', '/products/{id}/restock', { id: product.id }, { body: { quantity: 1 } });
      await expectStatus(403, who, 'POST', '/stores', {}, { body: { id: 'nope-store', name: 'x', district: 'x', address: 'x', latitude: 1, longitude: 1, capacity: 1 } });
      await expectStatus(403, who, 'PATCH', '/stores/{id}', { id: store.id }, { body: { open: false } });
    }
    // The launch desk: admins only.
    for (const who of [mine, myStaff]) expect((await expectStatus(403, who, 'GET', '/launch-desk')).body.code).toBe('FORBIDDEN');
    const desk = await expectStatus(200, ADMIN, 'GET', '/launch-desk');
    expect(desk.body.products.find((p: Body) => p.id === product.id)).toMatchObject({ stock: expect.any(Number), counts: expect.any(Object) });
    const sku = `admin-${Date.now()}`;
    const created = await expectStatus(201, ADMIN, 'POST', '/products', {}, { body: { sku, name: 'Admin phone', brand: 'Test', priceKrw: 990_000, stock: 3 } });
    await expectStatus(409, ADMIN, 'POST', '/products', {}, { body: { sku, name: 'Again', brand: 'Test', priceKrw: 1 } });
    await expectStatus(200, ADMIN, 'PATCH', '/products/{id}', { id: created.body.id }, { body: { priceKrw: 950_000 } });
    expect((await expectStatus(200, ADMIN, 'POST', '/products/{id}/restock', { id: created.body.id }, { body: { quantity: 7 } })).body.availableStock).toBe(10);
    await expectStatus(404, ADMIN, 'PATCH', '/products/{id}', { id: 999_999 }, { body: { priceKrw: 1 } });
    const storeId = `admin-store-${Date.now()}`;
    await expectStatus(201, ADMIN, 'POST', '/stores', {}, { body: { id: storeId, name: 'Admin store', district: '제주', address: 'test', latitude: 33.1, longitude: 126.1, capacity: 2 } });
    await expectStatus(409, ADMIN, 'POST', '/stores', {}, { body: { id: storeId, name: 'Again', district: '제주', address: 'test', latitude: 33.1, longitude: 126.1, capacity: 2 } });
    expect((await expectStatus(200, ADMIN, 'PATCH', '/stores/{id}', { id: storeId }, { body: { open: false } })).body.open).toBe(false);
    await expectStatus(409, ADMIN, 'PATCH', '/stores/{id}', { id: store.id }, { body: { capacity: 0 } }); // it holds a reservation
    await expectStatus(404, ADMIN, 'PATCH', '/stores/{id}', { id: 'no-such-store' }, { body: { open: true } });

    // Reserving: customers for themselves, admins for anyone, store staff for a walk-in customer.
    // c-own holds one of this product already: the desk allows more here.
    await expectStatus(200, ADMIN, 'PATCH', '/products/{id}/sale', { id: product.id }, { body: { unitLimit: 5 } });
    await expectStatus(201, mine, 'POST', '/reservations', {}, { body: { productId: product.id } });
    await expectStatus(403, mine, 'POST', '/reservations', {}, { body: { productId: product.id, customer: { id: 'c-other' } } });
    const walkIn = await expectStatus(201, myStaff, 'POST', '/reservations', {}, { body: { productId: product.id, customer: { id: 'c-walk-in', phone: '010-4444-0001' } } });
    expect(walkIn.body.customerId).toBe('c-walk-in');
    // Without customer.id an admin's reservation is the admin's own (the contract says so; no hidden rule).
    const adminOwn = await expectStatus(201, ADMIN, 'POST', '/reservations', {}, { body: { productId: product.id } });
    expect(adminOwn.body.customerId).toBe(ADMIN.sub);

    // A product's sale and line: everyone reads the sale and the draw; admins set it; customers join
    // and follow their own places (anyone else's is "not found"), and leave.
    const later = await newProduct(db, 5);
    await expectStatus(403, mine, 'PATCH', '/products/{id}/sale', { id: later.id }, { body: { paused: true } });
    const scheduled = await expectStatus(200, ADMIN, 'PATCH', '/products/{id}/sale', { id: later.id }, { body: { opensAt: new Date(Date.now() + 3_600_000).toISOString(), order: 'LOTTERY' } });
    expect(scheduled.body).toMatchObject({ state: 'SCHEDULED', order: 'LOTTERY', lottery: { seedSha256: expect.any(String), seed: null } });
    for (const who of [mine, myStaff, ADMIN]) {
      await expectStatus(200, who, 'GET', '/products/{id}/sale', { id: later.id });
      await expectStatus(200, who, 'GET', '/products/{id}/draw', { id: later.id });
    }
    for (const who of [myStaff, ADMIN]) await expectStatus(403, who, 'POST', '/products/{id}/tickets', { id: later.id }, { body: {} });
    const place = await expectStatus(202, mine, 'POST', '/products/{id}/tickets', { id: later.id }, { body: { customer: { district: '강남구' } } });
    await expectStatus(409, mine, 'POST', '/products/{id}/tickets', { id: later.id }, { body: {} });
    expect((await expectStatus(200, mine, 'GET', '/tickets')).body.items.map((t: Body) => t.id)).toContain(place.body.id);
    await expectStatus(200, mine, 'GET', '/tickets/{id}', { id: place.body.id });
    await expectStatus(200, ADMIN, 'GET', '/tickets/{id}', { id: place.body.id });
    for (const who of [other, myStaff]) await expectStatus(404, who, 'GET', '/tickets/{id}', { id: place.body.id });
    await expectStatus(404, other, 'DELETE', '/tickets/{id}', { id: place.body.id });
    expect((await expectStatus(200, mine, 'DELETE', '/tickets/{id}', { id: place.body.id })).body.status).toBe('LEFT');
    expect((await expectStatus(409, mine, 'DELETE', '/tickets/{id}', { id: place.body.id })).body.code).toBe('TICKET_ENDED');
    expect((await expectStatus(401, null, 'GET', '/events')).body.code).toBe('UNAUTHENTICATED');

    // Reading: own (customer), own store (staff), anything (admin); the rest is "not found".
    for (const route of ['/reservations/{id}', '/reservations/{id}/notifications']) {
      await expectStatus(200, mine, 'GET', route, { id: own });
      await expectStatus(404, mine, 'GET', route, { id: theirs });
      await expectStatus(404, other, 'GET', route, { id: own });
      await expectStatus(200, myStaff, 'GET', route, { id: own });
      await expectStatus(404, myStaff, 'GET', route, { id: theirs });
      await expectStatus(200, ADMIN, 'GET', route, { id: theirs });
    }
    const listed = await expectStatus(200, mine, 'GET', '/reservations');
    expect(listed.body.items.every((r: Body) => r.customerId === 'c-own')).toBe(true);
    await expectStatus(403, mine, 'GET', '/reservations?customerId=c-other');
    const storeList = await expectStatus(200, myStaff, 'GET', '/reservations');
    expect(storeList.body.items.map((r: Body) => r.id)).toContain(own);
    expect(storeList.body.items.every((r: Body) => r.store?.id === store.id)).toBe(true);
    await expectStatus(403, myStaff, 'GET', `/reservations?storeId=${otherStore.id}`);
    expect((await expectStatus(200, ADMIN, 'GET', '/reservations?customerId=c-other')).body.items.map((r: Body) => r.id)).toEqual([theirs]);

    // Cancelling: the customer (own) and admins; staff never; another's is "not found".
    await expectStatus(404, other, 'POST', '/reservations/{id}/cancel', { id: own });
    await expectStatus(404, other, 'PATCH', '/reservations/{id}', { id: own }, { body: { status: '예약취소' } });
    await expectStatus(403, myStaff, 'POST', '/reservations/{id}/cancel', { id: own });
    await expectStatus(403, myStaff, 'PATCH', '/reservations/{id}', { id: own }, { body: { status: 'CANCELLED' } });
    await expectStatus(202, mine, 'POST', '/reservations/{id}/cancel', { id: await confirmed(product.id, 'c-own', store) });
    await expectStatus(202, mine, 'PATCH', '/reservations/{id}', { id: await confirmed(product.id, 'c-own', store) }, { body: { status: '예약취소' } });
    await expectStatus(202, ADMIN, 'POST', '/reservations/{id}/cancel', { id: await confirmed(product.id, 'c-other', otherStore) });
    await expectStatus(202, ADMIN, 'PATCH', '/reservations/{id}', { id: await confirmed(product.id, 'c-other', otherStore) }, { body: { status: 'CANCELLED' } });

    // Completing: staff of the reservation's store, and admins.
    await expectStatus(403, mine, 'POST', '/reservations/{id}/complete', { id: own });
    await expectStatus(404, otherStaff, 'POST', '/reservations/{id}/complete', { id: own });
    await expectStatus(202, myStaff, 'POST', '/reservations/{id}/complete', { id: own }, { body: { by: 'staff-7' } });
    await expectStatus(202, ADMIN, 'POST', '/reservations/{id}/complete', { id: theirs });
    await eventually(async () => (await call(ADMIN, 'GET', '/reservations/{id}', { id: own })).body.status, (s) => s === 'COMPLETED');
    await expectStatus(409, myStaff, 'POST', '/reservations/{id}/complete', { id: own });
    await expectStatus(409, mine, 'POST', '/reservations/{id}/cancel', { id: own });
  });

  it('refuses tokens that are expired, forged, unsigned or of an unknown role', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { sign } = await import('hono/jwt');
    const forged = [
      await signToken(TEST_JWT_SECRET, customer('c-1'), -60), // expired, beyond the 30 s leeway
      await signToken('another-secret-another-secret-another-secret', customer('c-1')),
      await sign({ iss: 'tshop-reserve', jti: 'j-root', sub: 'x', role: 'root', exp: now + 60 }, TEST_JWT_SECRET, 'HS256'),
      await sign({ iss: 'tshop-reserve', jti: 'j-store', sub: 'x', role: 'store', exp: now + 60 }, TEST_JWT_SECRET, 'HS256'), // no store
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'tshop-reserve', sub: 'x', role: 'admin' })).toString('base64url')}.`,
      'not-a-token',
      await sign({ iss: 'someone-else', jti: 'j-admin', sub: 'x', role: 'admin', exp: now + 60 }, TEST_JWT_SECRET, 'HS256'),
      await sign({ iss: 'tshop-reserve', jti: 'j-admin', sub: 'x', role: 'admin', nbf: now + 600, exp: now + 900 }, TEST_JWT_SECRET, 'HS256'), // not yet valid
      await sign({ iss: 'tshop-reserve', jti: 'j-admin', sub: 'x', role: 'admin', iat: now + 600, exp: now + 900 }, TEST_JWT_SECRET, 'HS256'), // issued in the future
      await sign({ iss: 'tshop-reserve', jti: 'j-admin', sub: 'x', role: 'admin', exp: now + 60 }, TEST_JWT_SECRET, 'HS512'), // not our algorithm
    ];
    // A customer's token whose payload was swapped for an admin's, signature kept.
    const [header, , signature] = (await signToken(TEST_JWT_SECRET, customer('c-1'))).split('.');
    const adminPayload = (await signToken(TEST_JWT_SECRET, ADMIN)).split('.')[1];
    forged.push(`${header}.${adminPayload}.${signature}`);
    // The same signature written differently (the last character's unused bits changed).
    const valid = await signToken(TEST_JWT_SECRET, customer('c-1'));
    const last = valid.at(-1)!;
    forged.push(`${valid.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`);
    for (const token of forged) {
      const r = await call(null, 'GET', '/products', {}, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('token lifetimes and revocation', () => {
  const craft = async (claims: Record<string, unknown>) => (await import('hono/jwt')).sign({ iss: 'tshop-reserve', sub: 'c-tok', role: 'customer', ...claims }, TEST_JWT_SECRET, 'HS256');
  const statusWith = async (token: string, app = api) => (await app.request('/products', { headers: { authorization: `Bearer ${token}` } }, null)).status;

  it('requires exp and jti, forgives 30 s of clock skew and no more, and caps the lifetime per role', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await statusWith(await craft({ jti: 'a', iat: now }))).toBe(401); // never expires
    expect(await statusWith(await craft({ iat: now, exp: now + 60 }))).toBe(401); // cannot be revoked
    expect(await statusWith(await craft({ jti: 'b', iat: now - 100, exp: now - 10 }))).toBe(200); // within the leeway
    expect(await statusWith(await craft({ jti: 'c', iat: now - 100, exp: now - 31 }))).toBe(401);
    expect(await statusWith(await craft({ jti: 'd', iat: now + 20, exp: now + 80 }))).toBe(200); // a clock 20 s ahead
    expect(await statusWith(await craft({ jti: 'e', iat: now, exp: now + 24 * 3600 }))).toBe(200); // a customer's day
    expect(await statusWith(await craft({ jti: 'f', iat: now, exp: now + 24 * 3600 + 60 }))).toBe(401);
    expect(await statusWith(await craft({ jti: 'g', role: 'admin', iat: now, exp: now + 3600 }))).toBe(200);
    expect(await statusWith(await craft({ jti: 'h', role: 'admin', iat: now, exp: now + 2 * 3600 }))).toBe(401); // an admin's hour at most
    expect(await statusWith(await craft({ jti: 'i', role: 'admin', exp: now + 2 * 3600 }))).toBe(401); // no iat: counted from now
  });

  it('an admin revokes a token by its jti: refused at once here and within seconds by every other API process', async () => {
    const token = await signToken(TEST_JWT_SECRET, customer('c-revoked'));
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    const otherProcess = testApp(db, client, worker.taskQueue);
    expect(await statusWith(token)).toBe(200);
    expect(await statusWith(token, otherProcess)).toBe(200);
    const byCustomer = await api.request('/tokens/revocations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jti }) }, customer('c-revoked'));
    expect(byCustomer.status).toBe(403);
    const revoked = await api.request('/tokens/revocations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jti }) });
    expect(revoked.status).toBe(201);
    contract.validate('POST', '/tokens/revocations', 201, revoked.headers.get('content-type')!, await revoked.json());
    expect(await statusWith(token)).toBe(401);
    await eventually(() => statusWith(token, otherProcess), (s) => s === 401, 10_000);
    expect(await statusWith(await signToken(TEST_JWT_SECRET, customer('c-revoked')), otherProcess)).toBe(200); // a new token of theirs works
  });

  it('npm run token refuses a lifetime above the role\'s longest', async () => {
    const { launchScript } = await import('../../dev/stack.js');
    const tooLong = launchScript('token', { JWT_SECRET: TEST_JWT_SECRET }, ['--role', 'admin', '--ttl', '7200']);
    expect((await tooLong.exit).code).toBe(1);
    expect(tooLong.stderr()).toMatch(/--ttl must be 1 to 3600 seconds for the admin role/);
    const fine = launchScript('token', { JWT_SECRET: TEST_JWT_SECRET }, ['--role', 'customer', '--sub', 'c-9']);
    expect((await fine.exit).code).toBe(0);
    expect(await statusWith(fine.stdout().trim())).toBe(200);
  });
});

describe('bodies over HTTP', () => {
  it('refuses an oversized body by its Content-Length, and a chunked one as it is read', async () => {
    const server = await listen(api.app.fetch, '127.0.0.1', 0, 'body-limit test');
    try {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(customer('c-big'))}` };
      const body = JSON.stringify({ productId: 1, pad: 'x'.repeat(20_000) });
      const sized = await fetch(`${server.url}/reservations`, { method: 'POST', headers, body });
      expect([sized.status, ((await sized.json()) as { code: string }).code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(body)), c.close()) });
      const chunked = await fetch(`${server.url}/reservations`, { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
      expect([chunked.status, ((await chunked.json()) as { code: string }).code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    } finally {
      await server.close();
    }
  });
});

describe('bad input changes nothing', () => {
  it('answers each kind with a clear 4xx and its code', async () => {
    const product = await newProduct(db, 5);
    const me = customer('c-bad');
    const cases: [string, Parameters<typeof call>, number, string][] = [
      ['malformed JSON', [me, 'POST', '/reservations', {}, { raw: '{"productId": 1,' }], 400, 'MALFORMED_REQUEST'],
      ['a JSON array', [me, 'POST', '/reservations', {}, { body: [1, 2] }], 400, 'VALIDATION_FAILED'],
      ['wrong type', [me, 'POST', '/reservations', {}, { body: { productId: true } }], 400, 'VALIDATION_FAILED'],
      ['missing field', [me, 'POST', '/reservations', {}, { body: { quantity: 1 } }], 400, 'VALIDATION_FAILED'],
      ['unknown field', [me, 'POST', '/reservations', {}, { body: { productId: product.id, coupon: 'FREE' } }], 400, 'VALIDATION_FAILED'],
      ['negative quantity', [me, 'POST', '/reservations', {}, { body: { productId: product.id, quantity: -1 } }], 400, 'VALIDATION_FAILED'],
      ['huge quantity', [me, 'POST', '/reservations', {}, { body: { productId: product.id, quantity: 1e12 } }], 400, 'VALIDATION_FAILED'],
      ['huge product id', [me, 'POST', '/reservations', {}, { body: { productId: 99_999_999_999 } }], 400, 'VALIDATION_FAILED'],
      ['unknown product', [me, 'POST', '/reservations', {}, { body: { productId: 2_000_000_000 } }], 422, 'UNKNOWN_PRODUCT'],
      ['unknown district', [me, 'POST', '/reservations', {}, { body: { productId: product.id, customer: { district: 'Gotham' } } }], 400, 'VALIDATION_FAILED'],
      ['off the earth', [me, 'POST', '/reservations', {}, { body: { productId: product.id, customer: { latitude: 91, longitude: 0 } } }], 400, 'VALIDATION_FAILED'],
      ['latitude alone', [me, 'POST', '/reservations', {}, { body: { productId: product.id, customer: { latitude: 37.5 } } }], 400, 'VALIDATION_FAILED'],
      ['NUL in a name', [me, 'POST', '/reservations', {}, { body: { productId: product.id, customer: { name: 'a\u0000b' } } }], 400, 'VALIDATION_FAILED'],
      ['bad fulfilment', [me, 'POST', '/reservations', {}, { body: { productId: product.id, fulfilment: 'DRONE' } }], 400, 'VALIDATION_FAILED'],
      ['oversized body', [me, 'POST', '/reservations', {}, { raw: JSON.stringify({ productId: product.id, pad: 'x'.repeat(20_000) }) }], 413, 'PAYLOAD_TOO_LARGE'],
      ['wrong content type', [me, 'POST', '/reservations', {}, { raw: 'productId=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['malformed Idempotency-Key', [me, 'POST', '/reservations', {}, { body: { productId: product.id }, headers: { 'idempotency-key': 'has spaces in it' } }], 400, 'VALIDATION_FAILED'],
      ['invalid reservation id', [me, 'GET', '/reservations/{id}', { id: 'not-an-id' }], 400, 'VALIDATION_FAILED'],
      ['invalid product id', [me, 'GET', '/products/{id}', { id: 'abc' }], 400, 'VALIDATION_FAILED'],
      ['product id out of range', [me, 'GET', '/products/{id}', { id: '99999999999' }], 400, 'VALIDATION_FAILED'],
      ['cancel with a status other than cancel', [me, 'PATCH', '/reservations/{id}', { id: '0000000000AA' }, { body: { status: 'CONFIRMED' } }], 400, 'VALIDATION_FAILED'],
      ['bogus cursor', [me, 'GET', '/reservations?cursor=bogus'], 400, 'VALIDATION_FAILED'],
      ['limit too large', [me, 'GET', '/reservations?limit=1000'], 400, 'VALIDATION_FAILED'],
      ['restock of nothing', [ADMIN, 'POST', '/products/{id}/restock', { id: product.id }, { body: { quantity: 0 } }], 400, 'VALIDATION_FAILED'],
      ['negative capacity', [ADMIN, 'PATCH', '/stores/{id}', { id: 'gangnam' }, { body: { capacity: -1 } }], 400, 'VALIDATION_FAILED'],
      ['empty patch', [ADMIN, 'PATCH', '/products/{id}', { id: product.id }, { body: {} }], 400, 'VALIDATION_FAILED'],
      ['invalid store id', [ADMIN, 'PATCH', '/stores/{id}', { id: 'BAD STORE' }, { body: { open: true } }], 400, 'VALIDATION_FAILED'],
    ];
    const before = await snapshot(product.id);
    for (const [what, args, status, code] of cases) {
      const r = await call(...args);
      expect(r.status, what).toBe(status);
      expect(r.body.code, what).toBe(code);
      expect(r.headers.get('content-type'), what).toContain('application/problem+json');
      expect(JSON.stringify(r.body), what).not.toMatch(/\bat .+\.(ts|js):\d+/); // never a stack trace
      if (r.body.code === 'VALIDATION_FAILED' && r.status === 400 && !what.includes('id')) expect(r.body.detail, what).toBeTruthy();
    }
    expect(await snapshot(product.id)).toEqual(before);
    const nowhere = await api.request('/nowhere', {}, me);
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as Body).code).toBe('NOT_FOUND');
  });
});

describe('Idempotency-Key', () => {
  it('returns the same reservation for the same key and body, once, also when both requests race', async () => {
    const product = await newProduct(db, 5);
    const me = customer('c-idem');
    const body = { productId: product.id, customer: { district: '종로구' } };
    const key = { 'idempotency-key': `reserve-${Date.now()}-a` };
    const [a, b] = await Promise.all([call(me, 'POST', '/reservations', {}, { body, headers: key }), call(me, 'POST', '/reservations', {}, { body, headers: key })]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).toBe(b.body.id);
    const c = await call(me, 'POST', '/reservations', {}, { body, headers: key });
    expect(c.status).toBe(201);
    expect(c.body.id).toBe(a.body.id);
    expect(await stockOf(db, product.id)).toBe(4);

    const before = await snapshot(product.id);
    const reused = await call(me, 'POST', '/reservations', {}, { body: { ...body, quantity: 2 }, headers: key });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await snapshot(product.id)).toEqual(before);

    // Another caller's identical key is another reservation.
    const other = await call(customer('c-idem-2'), 'POST', '/reservations', {}, { body, headers: key });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(a.body.id);
  });

  it('replays a rejection as a rejection, and a cancel as accepted', async () => {
    const product = await newProduct(db, 0);
    const me = customer('c-idem-3');
    const key = { 'idempotency-key': `reserve-${Date.now()}-b` };
    const first = await call(me, 'POST', '/reservations', {}, { body: { productId: product.id }, headers: key });
    const again = await call(me, 'POST', '/reservations', {}, { body: { productId: product.id }, headers: key });
    expect([first.status, again.status]).toEqual([409, 409]);
    expect(again.body.reservationId).toBe(first.body.reservationId);

    const stocked = await newProduct(db, 1);
    const { id } = (await call(me, 'POST', '/reservations', {}, { body: { productId: stocked.id } })).body;
    const cancelKey = { 'idempotency-key': `cancel-${Date.now()}` };
    const c1 = await call(me, 'POST', '/reservations/{id}/cancel', { id }, { body: { reason: 'dup' }, headers: cancelKey });
    await eventually(async () => (await call(me, 'GET', '/reservations/{id}', { id })).body.status, (s) => s === 'CANCELLED');
    const c2 = await call(me, 'POST', '/reservations/{id}/cancel', { id }, { body: { reason: 'dup' }, headers: cancelKey });
    expect([c1.status, c2.status]).toEqual([202, 202]);
    expect((await call(me, 'POST', '/reservations/{id}/cancel', { id }, { body: { reason: 'other' }, headers: cancelKey })).status).toBe(422);
    expect(await stockOf(db, stocked.id)).toBe(1);
  });

  it('never restocks twice for one key', async () => {
    const product = await newProduct(db, 0);
    const key = { 'idempotency-key': `restock-${Date.now()}` };
    const [a, b] = await Promise.all([
      call(ADMIN, 'POST', '/products/{id}/restock', { id: product.id }, { body: { quantity: 5 }, headers: key }),
      call(ADMIN, 'POST', '/products/{id}/restock', { id: product.id }, { body: { quantity: 5 }, headers: key }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await stockOf(db, product.id)).toBe(5);
    expect((await call(ADMIN, 'POST', '/products/{id}/restock', { id: product.id }, { body: { quantity: 6 }, headers: key })).status).toBe(422);
  });
});

describe('the contract', () => {
  it('every documented route was exercised above, and every answer matched the document', () => {
    expect(contract.unexercised()).toEqual([]);
  });
});

describe('readiness', () => {
  it('says which dependency is missing in fixed words, without internal text', async () => {
    const { createDb } = await import('../../db/client.js');
    const nowhere = createDb('postgres://nobody:secret@127.0.0.1:9/none', { max: 1 });
    try {
      const res = await testApp(nowhere, client, `nobody-polls-${Date.now()}`).request('/readyz', {}, null);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({
        status: 'not ready',
        checks: { database: { ok: false, detail: 'unreachable' }, temporal: { ok: true }, worker: { ok: false, detail: 'no worker polling' }, revocations: { ok: false } },
      });
      expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|nobody-polls|secret/);
      // A request while the database is down (its token cannot be checked against revocations): 503 with Retry-After, not a 500.
      const products = await testApp(nowhere, client, 'any').request('/products');
      expect(products.status).toBe(503);
      expect(products.headers.get('retry-after')).toBe('5');
      expect(((await products.json()) as { code: string }).code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await nowhere.destroy();
    }
  });
  it('runs its checks at most once a second, however many ask (the probe is public)', async () => {
    const { Client: TemporalClient, Connection: TemporalConnection } = await import('@temporalio/client');
    const own = await TemporalConnection.connect({ address: connection.options.address });
    try {
      let calls = 0;
      const service = own.workflowService;
      const real = service.getSystemInfo.bind(service);
      service.getSystemInfo = ((req: Parameters<typeof real>[0]) => {
        calls += 1;
        return real(req);
      }) as typeof real;
      const probe = testApp(db, new TemporalClient({ connection: own }), `probed-${Date.now()}`);
      const answers = await Promise.all(Array.from({ length: 50 }, () => probe.request('/readyz', {}, null)));
      expect(new Set(answers.map((a) => a.status))).toEqual(new Set([503]));
      expect(calls).toBe(1);
      await new Promise((r) => setTimeout(r, 1_100));
      await probe.request('/readyz', {}, null);
      expect(calls).toBe(2);
    } finally {
      await own.close();
    }
  });
});

describe('the assignment service', () => {
  it('answers only the worker: no token or a wrong one is refused (401) and changes nothing; its health probe is open', async () => {
    const { TEST_ASSIGNMENT_TOKEN } = await import('../helpers.js');
    const reservationId = 'ZZZZZZZZZZZ1';
    const call = (method: string, path: string, token?: string, body?: unknown) =>
      fetch(`${assignment.url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    const claim = { reservationId, latitude: 37.5665, longitude: 126.978 };
    for (const token of [undefined, 'wrong-token-wrong-token-wrong-token-0000', `${TEST_ASSIGNMENT_TOKEN}x`]) {
      for (const [method, path, body] of [
        ['GET', '/stores'],
        ['POST', '/assignments', claim],
        ['GET', `/assignments/${reservationId}`],
        ['DELETE', `/assignments/${reservationId}`],
        ['POST', `/assignments/${reservationId}/complete`],
      ] as const) {
        const res = await call(method, path, token, body);
        expect(res.status, `${method} ${path} with ${token ?? 'no token'}`).toBe(401);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(((await res.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
      }
    }
    expect(await assignmentTables(db).selectFrom('assignment.assignments').select('reservation_id').where('reservation_id', '=', reservationId).execute()).toEqual([]);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/stores', TEST_ASSIGNMENT_TOKEN)).status).toBe(200);
  });
});

describe('methods', () => {
  it('answers a method a route does not have with 405 and Allow, an unknown path with 404', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/reservations', 'GET, HEAD, POST'],
      ['PUT', '/products/1', 'GET, HEAD, PATCH'],
      ['DELETE', '/reservations/ABCDEFGHJKMN/cancel', 'POST'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['PUT', '/openapi.json', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await api.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe('METHOD_NOT_ALLOWED');
    }
    expect((await api.request('/no-such-thing')).status).toBe(404);
    // A trailing slash is a missing route, not a refused method.
    const slash = await api.request('/reservations/');
    expect(slash.status).toBe(404);
    expect(((await slash.json()) as { detail: string }).detail).toContain('without the trailing slash: /reservations');
  });
});
