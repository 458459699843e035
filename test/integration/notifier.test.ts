/**
 * The Python notifier (notifier/): its own pytest suite, then the customer's KakaoTalk messages
 * end to end, from the API through the outbox and the notifier's drain (kept running by its
 * Schedule) to a Kakao-compatible endpoint, with the notifier and the endpoint down, killed and
 * back. In a database of its own: the drain sends every pending row, and other suites' rows are
 * not its to send.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNotifierTests } from '../../dev/notifier.js';
import { reservationWorkflowId, type ReservationPolicy } from '../../app/reservation/contract.js';
import { ensureNotifyDrainSchedule } from '../../workers/schedules.js';
import { NOTIFY_DRAIN_WORKFLOW_TYPE, notifyDrainScheduleId } from '../../shared/queues.js';
import { DEFAULT_TEST_POLICY, eventually, historyText, launchNotifier, newProduct, newStore, notifierQueueOf, startDrain, testApp, useTestStack } from '../helpers.js';
import { startFakeKakao, type FakeKakao } from '../kakao.js';

const stack = useTestStack({ ownDatabase: true, notifier: false });
let kakao: FakeKakao;
let notifier: Awaited<ReturnType<typeof launchNotifier>> | undefined;
let drain: Awaited<ReturnType<typeof startDrain>> | undefined;

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
  drain = await startDrain(stack.client, stack.worker.taskQueue);
});
afterAll(async () => {
  await drain?.stop();
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

    // The reservation's workflow calls no notifier; operators see the drain's activity on the
    // notifier's queue. Neither history holds the contact.
    const handle = stack.client.workflow.getHandle(reservationWorkflowId(id));
    await handle.result();
    const scheduled = (h: Awaited<ReturnType<typeof handle.fetchHistory>>) => (h.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    expect(scheduled(await handle.fetchHistory()).map((a) => a.activityType!.name)).not.toContain('notifyPending');
    const drainRun = await runningDrain();
    const drainCalls = scheduled(await eventually(() => drainRun.fetchHistory(), (h) => scheduled(h).length > 0));
    expect(drainCalls.map((a) => [a.activityType!.name, a.taskQueue!.name])).toEqual([['notifyPending', notifierQueueOf(stack.worker.taskQueue)]]);
    for (const text of [await historyText(handle), await historyText(drainRun)]) {
      for (const secret of ['홍길동', '010-1234-5678', '01012345678']) expect(text).not.toContain(secret);
    }
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
      // The reservation's workflow has ended; its messages wait, queued, for the notifier.
      expect((await stack.client.workflow.getHandle(reservationWorkflowId(id)).result()).status).toBe('CANCELLED');
      expect((await notes(id)).map((n) => [n.kind, n.status])).toEqual([
        ['ACCEPTED', 'QUEUED'],
        ['CONFIRMED', 'QUEUED'],
        ['CANCELLED', 'QUEUED'],
      ]);
      expect(kakao.to(id)).toEqual([]);

      await startNotifier();
      const sent = await eventually(async () => kakao.to(id), (m) => m.length === 3, 30_000);
      expect(sent.map((m) => m.kind)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);
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
      // Attempts keep coming (the drain backing off), each refused with 503.
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
    // Temporal retries the drain once its heartbeat time-out passes (30 s); the claim lapses soon after.
    const sent = await eventually(async () => kakao.to(id), (m) => m.length === 2, 90_000);
    expect(sent.map((m) => m.kind)).toEqual(['ACCEPTED', 'CONFIRMED']);
    const keys = kakao.requests.filter((r) => r.key.includes(id)).map((r) => r.key);
    expect(keys.filter((k) => k === `tshop-${id}-ACCEPTED`).length).toBeGreaterThanOrEqual(2);
  });
});

describe('the drain', () => {
  it('is always running: its Schedule starts the next run as one ends', async () => {
    const { schedule } = await drainSchedule();
    expect(schedule.policies.overlap).toBe(ScheduleOverlapPolicy.BUFFER_ONE);
    expect((await (await runningDrain()).describe()).status.name).toBe('RUNNING');
    const action = schedule.action as { args?: unknown[] };
    expect(action.args).toEqual([{ notifierTaskQueue: notifierQueueOf(stack.worker.taskQueue), maxMs: 60_000 }]);
  });

  it("brings an earlier release's Schedule (runs of part of the interval, overlaps skipped) to its shape, keeping the interval", async () => {
    const taskQueue = `reshape-${Date.now()}`;
    const scheduleId = notifyDrainScheduleId(taskQueue);
    await stack.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: 120_000 }] },
      action: { type: 'startWorkflow', workflowType: NOTIFY_DRAIN_WORKFLOW_TYPE, workflowId: scheduleId, taskQueue, args: [{ notifierTaskQueue: 'old', maxMs: 110_000 }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { paused: true },
    });
    const handle = stack.client.schedule.getHandle(scheduleId);
    try {
      expect((await ensureNotifyDrainSchedule(stack.client, taskQueue, 'new', 120_000)).created).toBe(false);
      const reshaped = await handle.describe();
      expect(reshaped.policies.overlap).toBe(ScheduleOverlapPolicy.BUFFER_ONE);
      expect((reshaped.action as { args?: unknown[] }).args).toEqual([{ notifierTaskQueue: 'new', maxMs: 120_000 }]);
      expect(reshaped.spec.intervals?.map((i) => i.every)).toEqual([120_000]);
      expect(reshaped.state.paused).toBe(true);
    } finally {
      await handle.delete();
    }
  });

  it('tells customers refused at admission (no workflow), sold out, in the local sink when no endpoint is set', { timeout: 60_000 }, async () => {
    // A notifier with no Kakao endpoint: the local sink.
    await stopNotifier();
    await startNotifier({});
    try {
      const product = await newProduct(stack.db, 0);
      const { send, notes } = api();
      const refused = await send('POST', '/reservations', { productId: product.id, customer: { id: 'c-refused', ...CUSTOMER, district: '중구' } });
      expect(refused.status).toBe(409);
      const rid = refused.body.reservationId as string;
      const told = await eventually(async () => notes(rid), (n) => n[0]?.status === 'SENT', 30_000);
      expect(told[0]).toMatchObject({ kind: 'REJECTED', channel: 'sink', templateCode: 'TSHOP_SOLD_OUT' });
      expect(told[0].request).toMatchObject({ templateCode: 'TSHOP_SOLD_OUT', recipientList: [{ recipientNo: '010****5678' }] });
      expect(told[0].message.ko).toContain(product.name);
      expect(kakao.to(rid)).toEqual([]);
    } finally {
      await stopNotifier();
      await startNotifier();
    }
  });
});

async function drainSchedule() {
  const schedule = await stack.client.schedule.getHandle(notifyDrainScheduleId(stack.worker.taskQueue)).describe();
  return { schedule, info: schedule.info };
}

/** The drain run its Schedule started last. */
async function runningDrain() {
  const { info } = await drainSchedule();
  return stack.client.workflow.getHandle(info.recentActions.at(-1)!.action.workflow.workflowId);
}
