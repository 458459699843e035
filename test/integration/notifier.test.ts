/**
 * The Python notifier (notifier/): its own pytest suite, then the customer's KakaoTalk messages
 * end to end, from the API through the workflow and the Python worker to a Kakao-compatible
 * endpoint, with the notifier and the endpoint down, killed and back. In a database of its own:
 * the drain sends whatever no workflow delivers, and other suites' rows are not its to send.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNotifierTests } from '../../dev/notifier.js';
import { reservationWorkflowId, type ReservationPolicy } from '../../app/reservation/contract.js';
import { ensureNotifyDrainSchedule } from '../../workers/schedules.js';
import { DEFAULT_TEST_POLICY, eventually, historyText, launchNotifier, newProduct, newStore, notifierQueueOf, testApp, useTestStack } from '../helpers.js';
import { startFakeKakao, type FakeKakao } from '../kakao.js';

const stack = useTestStack({ ownDatabase: true, notifier: false });
let kakao: FakeKakao;
let notifier: Awaited<ReturnType<typeof launchNotifier>> | undefined;

const startNotifier = async (env: Record<string, string> = kakao.env) => {
  notifier = await launchNotifier(notifierQueueOf(stack.worker.taskQueue), { databaseUrl: stack.databaseUrl, env });
};
const stopNotifier = async () => {
  await notifier?.stop();
  notifier = undefined;
};

beforeAll(async () => {
  kakao = await startFakeKakao();
  await startNotifier();
});
afterAll(async () => {
  await stopNotifier();
  await kakao?.close();
});

// `any`: response bodies are asserted field by field
type Body = any;
const CUSTOMER = { name: '홍길동', phone: '010-1234-5678' };

function api(policy: ReservationPolicy = DEFAULT_TEST_POLICY) {
  const app = testApp(stack.db, stack.client, stack.worker.taskQueue, policy);
  const send = async (method: string, url: string, body?: unknown): Promise<{ status: number; body: Body; ms: number }> => {
    const started = Date.now();
    const res = await app.request(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json(), ms: Date.now() - started };
  };
  const until = (id: string, status: string, timeoutMs = 30_000) =>
    eventually(async () => (await send('GET', `/reservations/${id}`)).body, (r: Body) => r.status === status, timeoutMs);
  const notes = async (id: string) => (await send('GET', `/reservations/${id}/notifications`)).body.items as Body[];
  return { send, until, notes };
}

async function reserveAtStore(productStock = 1) {
  const product = await newProduct(stack.db, productStock);
  const store = await newStore(stack.db, 5);
  const { send } = api();
  const created = await send('POST', '/reservations', {
    productId: product.id,
    customer: { id: `c-notify-${product.id}`, ...CUSTOMER, latitude: store.latitude, longitude: store.longitude },
  });
  expect(created.status).toBe(201);
  return { id: created.body.id as string, product, store, ms: created.ms };
}

it('its own tests pass (pytest: templates, the Kakao client, the activities against this PostgreSQL, the codec)', { timeout: 180_000 }, () => {
  const python = installNotifierTests();
  const run = spawnSync(python, ['-m', 'pytest', 'notifier/tests', '-q', '-p', 'no:cacheprovider'], {
    cwd: path.resolve('.'),
    env: { ...process.env, NOTIFIER_TEST_DATABASE_URL: stack.databaseUrl, PYTHONPATH: path.resolve('.') },
    encoding: 'utf8',
    timeout: 170_000,
  });
  const output = `${run.stdout}\n${run.stderr}`;
  expect(run.status, output).toBe(0);
  // Every test ran: none skipped for want of a database.
  expect(output, output).toMatch(/\d+ passed/);
  expect(output, output).not.toMatch(/skipped/);
});

describe('through the Python worker', () => {
  it("tells the customer of every change in order, on KakaoTalk, with the store's name and distance; the history holds ids only", async () => {
    const { id, store } = await reserveAtStore();
    const { send, until, notes } = api();
    await until(id, 'CONFIRMED');
    expect((await send('POST', `/reservations/${id}/complete`, { by: 'staff-1' })).status).toBe(202);
    await until(id, 'COMPLETED');
    const sent = await eventually(async () => kakao.to(id), (m) => m.length === 3);
    expect(sent.map((m) => m.request.templateCode)).toEqual(['TSHOP_ACCEPTED', 'TSHOP_CONFIRMED', 'TSHOP_COMPLETED']);
    const confirmed = sent[1]!.request.recipientList[0]!;
    expect(confirmed.recipientNo).toBe('01012345678');
    expect(Object.values(confirmed.templateParameter)).toEqual(expect.arrayContaining([`Test store ${store.id}`, '홍길동']));
    expect(confirmed.resendParameter).toMatchObject({ isResend: true });
    expect(confirmed.recipientGroupingKey).toBe(`tshop-${id}-CONFIRMED`);

    // The customer centre shows what was sent, with the number and name masked (settled just after each send).
    const listed = await eventually(() => notes(id), (n) => n.every((x) => x.status === 'SENT'));
    expect(listed.map((n) => [n.kind, n.status, n.channel, n.templateCode])).toEqual([
      ['ACCEPTED', 'SENT', 'kakao', 'TSHOP_ACCEPTED'],
      ['CONFIRMED', 'SENT', 'kakao', 'TSHOP_CONFIRMED'],
      ['COMPLETED', 'SENT', 'kakao', 'TSHOP_COMPLETED'],
    ]);
    expect(listed[1].message.ko).toContain(`Test store ${store.id}`);
    expect(listed[1].request.recipientList[0].recipientNo).toBe('010****5678');
    expect(JSON.stringify(listed)).not.toContain('홍길동');

    // Operators see the notifier's activity in the history, on its queue; never the contact.
    const handle = stack.client.workflow.getHandle(reservationWorkflowId(id));
    await handle.result();
    const history = await handle.fetchHistory();
    const calls = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes).filter((a) => a?.activityType?.name === 'notifyCustomer');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.every((a) => a!.taskQueue!.name === notifierQueueOf(stack.worker.taskQueue))).toBe(true);
    const text = await historyText(handle);
    for (const secret of ['홍길동', '010-1234-5678', '01012345678']) expect(text).not.toContain(secret);
  });

  it('the task queue shows the Python worker polling, and /readyz says so', async () => {
    const res = await stack.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: notifierQueueOf(stack.worker.taskQueue) },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    expect((res.pollers ?? []).map((p) => p.identity)).toContain(notifier!.identity);
    const ready = await api().send('GET', '/readyz');
    expect(ready.body.checks.notifier).toMatchObject({ ok: true });
    // No notifier on a queue: reported, and the API is still ready (reservations never wait for it).
    const elsewhere = testApp(stack.db, stack.client, `nobody-${Date.now()}`);
    const res2 = await elsewhere.request('/readyz', {}, null);
    expect(((await res2.json()) as Body).checks.notifier).toMatchObject({ ok: false });
  });

  it('a notifier that is down delays nothing: reservation, confirmation and compensation go on; once back, the messages arrive in order', { timeout: 90_000 }, async () => {
    await stopNotifier();
    try {
      const { id, product } = await reserveAtStore();
      const { send, until, notes } = api();
      await until(id, 'CONFIRMED', 15_000);
      expect((await send('POST', `/reservations/${id}/cancel`, { reason: 'changed my mind' })).status).toBe(202);
      await until(id, 'CANCELLED', 15_000);
      expect((await stack.db.selectFrom('products').select('stock').where('id', '=', product.id).executeTakeFirstOrThrow()).stock).toBe(1);
      // Nothing sent yet; the workflow stays open, its notifier call waiting on the queue.
      expect((await notes(id)).map((n) => [n.kind, n.status])).toEqual([
        ['ACCEPTED', 'QUEUED'],
        ['CONFIRMED', 'QUEUED'],
        ['CANCELLED', 'QUEUED'],
      ]);
      const handle = stack.client.workflow.getHandle(reservationWorkflowId(id));
      // The compensation's last step (the store slot given back) may still be running as CANCELLED shows; then only the notifier's call waits.
      const described = await eventually(
        () => handle.describe(),
        (d) => d.raw.pendingActivities?.map((a) => a.activityType?.name).join() === 'notifyCustomer',
      );
      expect(described.status.name).toBe('RUNNING');
      expect(described.raw.pendingActivities?.map((a) => a.activityType?.name)).toEqual(['notifyCustomer']);
      expect(kakao.to(id)).toEqual([]);

      await startNotifier();
      const sent = await eventually(async () => kakao.to(id), (m) => m.length === 3, 30_000);
      expect(sent.map((m) => m.kind)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);
      expect((await handle.result()).status).toBe('CANCELLED');
    } finally {
      if (!notifier) await startNotifier();
    }
  });

  it('a Kakao endpoint that is down is retried with backoff; the reservation is not held up, and nothing arrives twice', { timeout: 90_000 }, async () => {
    kakao.setDown(true);
    let id: string;
    try {
      ({ id } = await reserveAtStore());
      await api().until(id, 'CONFIRMED', 15_000);
      // Attempts keep coming (Temporal's retries), each refused with 503.
      await eventually(async () => kakao.requests.filter((r) => r.key.includes(id)).length, (n) => n >= 2, 20_000);
      expect(kakao.to(id)).toEqual([]);
    } finally {
      kakao.setDown(false);
    }
    const sent = await eventually(async () => kakao.to(id), (m) => m.length === 2, 60_000);
    expect(sent.map((m) => m.kind)).toEqual(['ACCEPTED', 'CONFIRMED']);
    const attempts = (await eventually(() => api().notes(id), (n) => n.every((x: Body) => x.status === 'SENT'))).map((n: Body) => n.attempts);
    expect(attempts[0]).toBeGreaterThan(1);
  });

  it('a notifier killed in the middle of a send: the retry carries the same dedupe key, so the customer gets the message once', { timeout: 120_000 }, async () => {
    kakao.hold(true);
    let id: string;
    try {
      ({ id } = await reserveAtStore());
      // The first message reached the endpoint; the answer never gets back: SIGKILL.
      await eventually(async () => kakao.requests.filter((r) => r.key.includes(id)).length, (n) => n >= 1, 20_000);
      process.kill(notifier!.pid, 'SIGKILL');
      await stopNotifier();
    } finally {
      kakao.hold(false);
    }
    await startNotifier();
    // Temporal retries the call once its start-to-close timeout passes (30 s); the claim has lapsed by then.
    const sent = await eventually(async () => kakao.to(id), (m) => m.length === 2, 90_000);
    expect(sent.map((m) => m.kind)).toEqual(['ACCEPTED', 'CONFIRMED']);
    const keys = kakao.requests.filter((r) => r.key.includes(id)).map((r) => r.key);
    expect(keys.filter((k) => k === `tshop-${id}-ACCEPTED`).length).toBeGreaterThanOrEqual(2);
  });
});

describe('the drain', () => {
  it('its Schedule tells customers refused at admission (no workflow), sold out, in the local sink when no endpoint is set', { timeout: 60_000 }, async () => {
    const product = await newProduct(stack.db, 0);
    const { send, notes } = api();
    const refused = await send('POST', '/reservations', { productId: product.id, customer: { id: 'c-refused', ...CUSTOMER, district: '중구' } });
    expect(refused.status).toBe(409);
    const rid = refused.body.reservationId as string;
    expect((await notes(rid)).map((n) => [n.kind, n.status])).toEqual([['REJECTED', 'QUEUED']]);
    // A second notifier with no Kakao endpoint: the local sink (only the drain's rows are its to take here).
    await stopNotifier();
    await startNotifier({});
    const schedule = await ensureNotifyDrainSchedule(stack.client, stack.worker.taskQueue, notifierQueueOf(stack.worker.taskQueue), 2_000);
    try {
      const told = await eventually(async () => notes(rid), (n) => n[0]?.status === 'SENT', 30_000);
      expect(told[0]).toMatchObject({ kind: 'REJECTED', channel: 'sink', templateCode: 'TSHOP_SOLD_OUT' });
      expect(told[0].request).toMatchObject({ templateCode: 'TSHOP_SOLD_OUT', recipientList: [{ recipientNo: '010****5678' }] });
      expect(told[0].message.ko).toContain(product.name);
      expect(kakao.to(rid)).toEqual([]);
    } finally {
      await stack.client.schedule.getHandle(schedule.scheduleId).delete();
      await stopNotifier();
      await startNotifier();
    }
  });
});
