/**
 * The API reaches stores only through the assignment service's HTTP API (docs/architecture.md,
 * "The assignment boundary"): what it shows while the service is up, and what still works while it
 * is down (/stores answers 503 with Retry-After, the desk shows the rest, customers still sign in).
 * Also the service's own endpoints for the reconciler and retention, through the typed client.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAssignmentClient } from '../../app/assignment/client.js';
import { assignStore, releaseAssignment } from '../../app/assignment/repository.js';
import type { Principal } from '../../platform/auth.js';
import { listen } from '../../platform/http.js';
import { newReservationId } from '../../platform/ids.js';
import { ADMIN, assignmentTables, newProduct, newStore, TEST_ASSIGNMENT_TOKEN, testApp, tokenFor, useTestStack } from '../helpers.js';

const stack = useTestStack({ worker: false });
const webDir = mkdtempSync(path.join(tmpdir(), 'tshop-web-'));
writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Tshop</title>');
const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

// `any`: bodies are asserted field by field
type Body = any;

/** The API over real HTTP on loopback (the demo sign-in answers this host only), calling the test's assignment service. */
async function serve() {
  const assignment = createAssignmentClient({ url: stack.assignment.url, token: TEST_ASSIGNMENT_TOKEN, timeoutMs: 1_000 });
  const { app } = testApp(stack.db, stack.client, 'unused-task-queue', undefined, { web: { dir: webDir, devLogin: true }, assignment });
  const server = await listen(app.fetch, '127.0.0.1', 0, 'assignment boundary test');
  servers.push(server);
  return async (p: string, init: RequestInit = {}, as: Principal | null = ADMIN) => {
    const headers = new Headers(init.headers);
    if (as) headers.set('authorization', `Bearer ${await tokenFor(as)}`);
    if (init.body) headers.set('content-type', 'application/json');
    const res = await fetch(`${server.url}${p}`, { ...init, headers });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
  };
}

describe('with the assignment service up', () => {
  it('lists, changes and shows stores through its API: /stores, the desk, the demo sign-in', async () => {
    const api = await serve();
    const store = await newStore(stack.db, 3);
    const listed = await api('/stores');
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((s: Body) => s.id === store.id)).toMatchObject({ capacity: 3, active: 0, open: true, central: false });
    const closed = await api(`/stores/${store.id}`, { method: 'PATCH', body: JSON.stringify({ open: false }) });
    expect([closed.status, closed.body.open]).toEqual([200, false]);
    expect((await api('/stores/no-such-store', { method: 'PATCH', body: JSON.stringify({ open: true }) })).status).toBe(404);
    const desk = await api('/launch-desk');
    expect(desk.body.storesAvailable).toBe(true);
    expect(desk.body.stores.find((s: Body) => s.id === store.id)).toMatchObject({ isOpen: false, capacity: 3, active: 0, load: 0 });
    expect(desk.body.stores.some((s: Body) => s.id === 'central-online')).toBe(false);
    const identities = await api('/dev/identities', {}, null);
    expect(identities.body.stores.length).toBeGreaterThan(20);
    expect((await api('/dev/login', { method: 'POST', body: JSON.stringify({ role: 'store', store: 'gangnam' }) }, null)).status).toBe(200);
  });

  it("pages through the ACTIVE slots older than a time and forgets ended ones, for the reconciler and retention", async () => {
    const service = createAssignmentClient({ url: stack.assignment.url, token: TEST_ASSIGNMENT_TOKEN });
    const store = await newStore(stack.db, 5);
    const keys = [newReservationId(), newReservationId(), `${newReservationId()}~2`];
    for (const key of keys) expect((await assignStore(assignmentTables(stack.db), { reservationId: key, ...store })).outcome).toBe('ASSIGNED');
    const later = new Date(Date.now() + 60_000);
    const seen: string[] = [];
    for await (const slot of service.activeSlots(later, 1)) if (keys.includes(slot.key)) seen.push(slot.key);
    expect(seen).toEqual([...keys].sort());
    // Not older than a time before they were made.
    for await (const slot of service.activeSlots(new Date(Date.now() - 60_000))) expect(keys).not.toContain(slot.key);

    await releaseAssignment(assignmentTables(stack.db), keys[0]!);
    expect(await service.purgeEnded(new Date(Date.now() - 60_000))).toBeGreaterThanOrEqual(0);
    expect(await assignmentTables(stack.db).selectFrom('assignment.assignments').select('reservation_id').where('reservation_id', '=', keys[0]!).execute()).toHaveLength(1);
    expect(await service.purgeEnded(later)).toBeGreaterThanOrEqual(1);
    const left = await assignmentTables(stack.db).selectFrom('assignment.assignments').select('reservation_id').where('reservation_id', 'in', keys).execute();
    expect(left.map((r) => r.reservation_id).sort()).toEqual(keys.slice(1).sort()); // ACTIVE ones stay
    for (const key of keys.slice(1)) await releaseAssignment(assignmentTables(stack.db), key);
  });
});

describe('with the assignment service down', () => {
  it('answers /stores with 503 and Retry-After; the desk shows the rest; customers still sign in', async () => {
    const api = await serve();
    const product = await newProduct(stack.db, 7);
    await stack.assignment.stop();
    try {
      for (const [method, body] of [['GET', undefined], ['POST', { id: 'down-store', name: 'x', district: 'x', address: 'x', latitude: 1, longitude: 1, capacity: 1 }]] as const) {
        const res = await api('/stores', { method, ...(body ? { body: JSON.stringify(body) } : {}) });
        expect(res.status, method).toBe(503);
        expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
      }
      const desk = await api('/launch-desk');
      expect(desk.status).toBe(200);
      expect(desk.body).toMatchObject({ storesAvailable: false, stores: [] });
      expect(desk.body.products.length).toBeGreaterThan(0);
      expect(product.id).toBeGreaterThan(0);
      const identities = await api('/dev/identities', {}, null);
      expect(identities.status).toBe(200);
      expect(identities.body.customers.length).toBeGreaterThan(0);
      expect(identities.body.stores).toEqual([]);
      expect((await api('/dev/login', { method: 'POST', body: JSON.stringify({ role: 'customer', sub: 'c-1' }) }, null)).status).toBe(200);
      expect((await api('/dev/login', { method: 'POST', body: JSON.stringify({ role: 'store', store: 'gangnam' }) }, null)).status).toBe(503);
    } finally {
      await stack.assignment.start();
    }
    expect((await api('/stores')).status).toBe(200);
  });
});
