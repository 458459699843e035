/**
 * Retention against the real servers: the Schedule operators see, and what a run purges from
 * reservations that ended long enough ago — and what it keeps for the figures.
 */
import { demoPhoneFor } from '../../db/data/demo.js';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RETENTION_WORKFLOW_TYPE } from '../../shared/queues.js';
import { ensureRetentionSchedule } from '../../workers/schedules.js';
import { assignmentTables, eventually, movesOf, newProduct, newStore, testApp, useTestStack, violationsOf } from '../helpers.js';

type Body = Record<string, any>; // `any`: bodies are asserted field by field
const DAY = 86_400_000;

const stack = useTestStack();
let scheduleId: string;
beforeAll(async () => {
  ({ scheduleId } = await ensureRetentionSchedule(stack.client, stack.worker.taskQueue, DAY, 30 * DAY));
});
afterAll(async () => {
  await stack.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
});

it('purges personal data, free text, sent notifications, old keys and tombstones 30 days after a reservation ends; keeps the figures', { timeout: 90_000 }, async () => {
  const { db, client, worker } = stack;
  const app = testApp(db, client, worker.taskQueue);
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.request(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Body };
  };
  const product = await newProduct(db, 3);
  const store = await newStore(db, 5);
  const reserve = async (name: string, key: string) =>
    (await send('POST', '/reservations', { productId: product.id, customer: { id: `c-${key}`, name, phone: demoPhoneFor(`c-${key}`), latitude: store.latitude, longitude: store.longitude } }, { 'idempotency-key': key })).body.id as string;
  const until = (id: string, status: string) => eventually(async () => (await send('GET', `/reservations/${id}`)).body.status, (s) => s === status, 30_000);

  const [old1, old2, recent] = [await reserve('김옛날', `ret-a-${Date.now()}`), await reserve('이옛날', `ret-b-${Date.now()}`), await reserve('박요즘', `ret-c-${Date.now()}`)];
  for (const id of [old1, old2, recent]) await until(id, 'CONFIRMED');
  await send('POST', `/reservations/${old1}/cancel`, { reason: '해외 이사' });
  await send('POST', `/reservations/${old2}/complete`, { by: 'staff-old' });
  await send('POST', `/reservations/${recent}/cancel`, { reason: '마음이 바뀜' });
  await until(old1, 'CANCELLED');
  await until(old2, 'COMPLETED');
  await until(recent, 'CANCELLED');
  await eventually(() => assignmentTables(db).selectFrom('assignment.assignments').select('status').where('reservation_id', 'in', [old1, old2]).where('status', '=', 'ACTIVE').execute(), (r) => r.length === 0);

  // Two of them ended 31 days ago; every notification was sent; a key and a revocation are old too.
  const longAgo = sql<Date>`now() - interval '31 days'`;
  await db.updateTable('reservations').set({ updated_at: longAgo }).where('id', 'in', [old1, old2]).execute();
  await assignmentTables(db).updateTable('assignment.assignments').set({ updated_at: longAgo }).where('reservation_id', 'in', [old1, old2]).execute();
  await db.updateTable('notifications').set({ sent_at: sql`now()` }).where('reservation_id', 'in', [old1, old2, recent]).execute();
  await sql`update idempotency_keys set created_at = ${longAgo} where resource_id in (${sql.join([old1, old2])})`.execute(db);
  await db.insertInto('revoked_tokens').values({ jti: `lapsed-${Date.now()}`, revoked_by: 'admin', until: new Date(Date.now() - DAY) }).execute();

  const left = async (table: 'reservation_requests' | 'notifications' | 'idempotency_keys', column: 'reservation_id' | 'resource_id', ids: string[]) =>
    (await db.selectFrom(table).select(column).where(column, 'in', ids).execute()).length;
  expect([await left('reservation_requests', 'reservation_id', [old1, old2]), await left('idempotency_keys', 'resource_id', [old1, old2])]).toEqual([2, 2]);

  // The Schedule operators see runs it (here on demand; it runs daily).
  const schedule = await client.schedule.getHandle(scheduleId).describe();
  expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: RETENTION_WORKFLOW_TYPE });
  await client.schedule.getHandle(scheduleId).trigger();
  // Its run ends once every step is done (the contacts go first, the store slots last).
  const run = await eventually(
    async () => (await client.schedule.getHandle(scheduleId).describe()).info.recentActions.at(-1)?.action.workflow.workflowId,
    (id) => id !== undefined,
    30_000,
  );
  await client.workflow.getHandle(run!).result();
  expect(await db.selectFrom('reservation_contacts').select('reservation_id').where('reservation_id', 'in', [old1, old2]).execute()).toEqual([]);

  expect(await left('reservation_requests', 'reservation_id', [old1, old2])).toBe(0);
  expect(await left('notifications', 'reservation_id', [old1, old2])).toBe(0);
  expect(await left('idempotency_keys', 'resource_id', [old1, old2])).toBe(0);
  expect(await assignmentTables(db).selectFrom('assignment.assignments').select('reservation_id').where('reservation_id', 'in', [old1, old2]).execute()).toEqual([]);
  const gone = await send('GET', `/reservations/${old1}`);
  expect(gone.body).toMatchObject({ status: 'CANCELLED', cancelReason: null, product: { id: product.id } });
  expect(JSON.stringify(gone.body)).not.toContain('해외 이사');
  expect((await send('GET', `/reservations/${old2}`)).body.status).toBe('COMPLETED');
  // The figures stay: every stock move of both.
  expect((await movesOf(db, old1)).map((m) => m.kind)).toEqual(['RESERVE', 'RELEASE']);
  expect((await movesOf(db, old2)).map((m) => m.kind)).toEqual(['RESERVE']);
  // The recent one keeps everything.
  expect((await send('GET', `/reservations/${recent}`)).body.cancelReason).toBe('마음이 바뀜');
  expect(await db.selectFrom('reservation_contacts').select('name').where('reservation_id', '=', recent).executeTakeFirst()).toEqual({ name: '박요즘' });
  expect(await db.selectFrom('revoked_tokens').select('jti').where('until', '<', new Date()).execute()).toEqual([]);

  // A second run finds nothing more to do.
  const again = await client.workflow.execute(RETENTION_WORKFLOW_TYPE, { taskQueue: worker.taskQueue, workflowId: `retention-again-${Date.now()}`, args: [{ retentionMs: 30 * DAY }] });
  expect(again).toEqual({ reservations: 0, contacts: 0, requests: 0, notifications: 0, idempotencyKeys: 0, slotTombstones: 0, revokedTokens: 0, tickets: 0, samples: 0 });
  expect(await violationsOf(db, { productIds: [product.id], storeIds: [store.id], reservationIds: [old1, old2, recent] })).toEqual([]);
});
