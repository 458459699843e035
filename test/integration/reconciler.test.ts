/**
 * The reconciler against the real servers: a Schedule operators can see, and what it settles when a
 * workflow ended without finishing its reservation (an operator's Terminate) or the read model lags.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../app/reconcile/activities.js';
import { checkInvariants } from '../../db/invariants.js';
import { reservationWorkflowId } from '../../app/reservation/contract.js';
import { RECONCILE_WORKFLOW_TYPE } from '../../shared/queues.js';
import { ensureReconcilerSchedule } from '../../workers/schedules.js';
import { activeAt, eventually, newProduct, newStore, stockOf, testApp, useTestStack, untilDecided } from '../helpers.js';

type Body = Record<string, any>; // `any`: bodies are asserted field by field

const stack = useTestStack();
let scheduleId: string;

beforeAll(async () => {
  ({ scheduleId } = await ensureReconcilerSchedule(stack.client, stack.worker.taskQueue, 60_000));
});
afterAll(async () => {
  await stack.client?.schedule.getHandle(scheduleId).delete().catch(() => undefined);
});

function api() {
  const app = testApp(stack.db, stack.client, stack.worker.taskQueue);
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Body };
  };
  const get = async (id: string) => (await send('GET', `/reservations/${id}`)).body;
  return {
    send,
    get,
    until: (id: string, status: string) => eventually(() => get(id), (r) => r.status === status, 20_000),
    reserveAt: async (productId: number, store: { latitude: number; longitude: number }) =>
      (await untilDecided(() => send('POST', '/reservations', { productId, customer: { id: 'c-rec', latitude: store.latitude, longitude: store.longitude } }), (p) => send('GET', p))).body.id as string,
  };
}

/** Runs the reconciler now, as its Schedule does, until `done` holds (visibility may lag a closed workflow by a moment). */
async function reconcileUntil(done: () => Promise<boolean>): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  await eventually(
    async () => {
      reports.push(await stack.client.workflow.execute(RECONCILE_WORKFLOW_TYPE, { taskQueue: stack.worker.taskQueue, workflowId: `reconcile-test-${randomUUID()}`, args: [{ slotGraceMs: 0 }] }));
      return done();
    },
    (ok) => ok,
    20_000,
  );
  return reports;
}

describe('the reconciler', () => {
  it('runs as a Schedule every minute, listed for operators, that starts the reconcile workflow', async () => {
    const described = await stack.client.schedule.getHandle(scheduleId).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: RECONCILE_WORKFLOW_TYPE, taskQueue: stack.worker.taskQueue });
    expect(described.spec.intervals).toMatchObject([{ every: 60_000 }]);
    const listed: string[] = [];
    for await (const s of stack.client.schedule.list()) listed.push(s.scheduleId);
    expect(listed).toContain(scheduleId);
    // A second replica's call finds it and changes nothing.
    expect(await ensureReconcilerSchedule(stack.client, stack.worker.taskQueue, 60_000)).toEqual({ scheduleId, created: false });
    // Triggered as an operator would from the Web UI, it runs on the worker and reports.
    await stack.client.schedule.getHandle(scheduleId).trigger();
    const run = await eventually(async () => (await stack.client.schedule.getHandle(scheduleId).describe()).info.recentActions, (a) => a.length > 0);
    const result = await stack.client.workflow.getHandle(run[0]!.action.workflow.workflowId, run[0]!.action.workflow.firstExecutionRunId).result();
    expect(result).toMatchObject({ closedWorkflows: expect.any(Number), compensated: expect.any(Array), slotsReleased: expect.any(Array) });
  });

  it('settles a reservation whose workflow an operator terminated: stock back, store slot released, CANCELLED, customer told', async () => {
    const product = await newProduct(stack.db, 1);
    const store = await newStore(stack.db, 1);
    const { until, reserveAt, send } = api();
    const id = await reserveAt(product.id, store);
    await until(id, 'CONFIRMED');
    await stack.client.workflow.getHandle(reservationWorkflowId(id)).terminate('operator: stuck in a test');
    // What the terminated workflow left: the unit and the slot held, the reservation open.
    expect([await stockOf(stack.db, product.id), await activeAt(stack.db, store.id)]).toEqual([0, 1]);
    const cancel = await send('POST', `/reservations/${id}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toMatch(/ended/);

    await reconcileUntil(async () => (await api().get(id)).status === 'CANCELLED');
    const settled = await api().get(id);
    expect(settled.events.map((e: Body) => e.status)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);
    expect(settled.cancelReason).toMatch(/workflow terminated/);
    expect(await stockOf(stack.db, product.id)).toBe(1);
    expect(await activeAt(stack.db, store.id)).toBe(0);
    const told = await stack.db.selectFrom('notifications').select('kind').where('reservation_id', '=', id).orderBy('id').execute();
    expect(told.map((n) => n.kind)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);

    // Again: nothing more moves.
    const again = await reconcileUntil(async () => true);
    expect(again[0]!.compensated).not.toContain(id);
    expect(await stockOf(stack.db, product.id)).toBe(1);
  });

  it('repairs a read model that lags behind a finished workflow', async () => {
    const product = await newProduct(stack.db, 1);
    const store = await newStore(stack.db, 1);
    const { until, reserveAt, send } = api();
    const id = await reserveAt(product.id, store);
    await until(id, 'CONFIRMED');
    expect((await send('POST', `/reservations/${id}/complete`, { by: 'staff-rec' })).status).toBe(202);
    await until(id, 'COMPLETED');
    await stack.client.workflow.getHandle(reservationWorkflowId(id)).result();
    // A lost write: the view still says CONFIRMED.
    await stack.db.updateTable('reservations').set({ status: 'CONFIRMED' }).where('id', '=', id).execute();

    await reconcileUntil(async () => (await api().get(id)).status === 'COMPLETED');
    expect(await stockOf(stack.db, product.id)).toBe(0);
    expect(await activeAt(stack.db, store.id)).toBe(0);
  });

  it('leaves every invariant holding', async () => {
    expect(await checkInvariants(stack.db)).toEqual({ ok: true, violations: [] });
  });
});
