/** The reservation workflow's logic with mocked activities, on the real Temporal dev server. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WithStartWorkflowOperation, WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveTemporalCli } from '../../dev/temporal.js';
import type { Activities } from '../../workers/activities.js';
import {
  cancelSignal,
  reassignSignal,
  CENTRAL_STORE,
  completeSignal,
  reservationWorkflowId,
  reserveUpdate,
  stateQuery,
  type ReservationInput,
  type ReservationPolicy,
} from '../../app/reservation/contract.js';
import { newReservationId } from '../../platform/ids.js';
import { reservationWorkflow } from '../../app/reservation/workflow.js';
import { connectClient, eventually, HISTORIES_DIR, startWorkerWith, type TestWorker } from '../helpers.js';

let connection: Connection;
let client: Client;
let worker: TestWorker | undefined;
beforeAll(async () => ({ connection, client } = await connectClient()));
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(() => connection?.close());

/** A promise the test resolves by hand, to hold an activity at a chosen point. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

const STORE = { storeId: 'gangnam', storeName: '강남역점', distanceKm: 1.2, fallback: false };

const holdUntil = (confirm: { holdPeriodMs: number }) => new Date(Date.now() + confirm.holdPeriodMs).toISOString();

/** Activities that record what the workflow asked for. */
function mocks(overrides: Partial<Activities> = {}) {
  const calls: string[] = [];
  const activities: Activities = {
    async reserveStock() {
      calls.push('reserveStock');
      return { accepted: true };
    },
    async releaseStock({ final }) {
      calls.push(`releaseStock:${final.status}`);
      return { released: 1 };
    },
    async abandonReservation() {
      calls.push('abandonReservation');
    },
    async recordTransition({ transition }) {
      calls.push(`record:${transition.status}`);
    },
    async remindCustomer() {
      calls.push('remindCustomer');
    },
    async assignStore({ confirm }) {
      calls.push('assignStore');
      return { store: STORE, holdUntil: holdUntil(confirm) };
    },
    async releaseAssignment() {
      calls.push('releaseAssignment');
    },
    async completeAtStore(input) {
      calls.push(input.round ? `completeAtStore:${input.round}` : 'completeAtStore');
    },
    async reconcile() {
      throw ApplicationFailure.nonRetryable('a reservation never runs the reconciler');
    },
    async purgePersonalData() {
      throw ApplicationFailure.nonRetryable('a reservation never runs retention');
    },
    ...overrides,
  };
  return { calls, activities };
}

/** Mocks for re-drives: no store until `stores.available`; calls record the assignment round. */
function redriveMocks(stores: { available: boolean }) {
  const recorded = mocks();
  const { calls } = recorded;
  Object.assign(recorded.activities, {
    async assignStore(input: Parameters<Activities['assignStore']>[0]) {
      calls.push(`assignStore:${input.round ?? 1}`);
      if (!stores.available) throw ApplicationFailure.retryable('no store has free capacity', 'NoCapacity');
      calls.push(`assignStore:${input.round ?? 1}/${input.confirm.notify}`);
      return { store: STORE, holdUntil: holdUntil(input.confirm) };
    },
    async releaseAssignment(input: { round?: number }) {
      calls.push(`releaseAssignment:${input.round ?? 1}`);
    },
    async recordTransition({ transition, notify }: Parameters<Activities['recordTransition']>[0]) {
      calls.push(`record:${transition.status}${notify ? `/${notify}` : ''}`);
    },
  } satisfies Partial<Activities>);
  return recorded;
}

const LONG: ReservationPolicy = { assignmentDeadlineMs: 60_000, holdPeriodMs: 3_600_000, reminderBeforeMs: 600_000 };

const inputFor = (policy: ReservationPolicy): ReservationInput => ({
  reservationId: newReservationId(),
  productId: 1,
  quantity: 1,
  customerId: 'c-1',
  fulfilment: 'PICKUP',
  policy,
});

async function start(taskQueue: string, policy: ReservationPolicy = LONG) {
  const input = inputFor(policy);
  return client.workflow.start(reservationWorkflow, { taskQueue, workflowId: reservationWorkflowId(input.reservationId), args: [input] });
}

/** Started as the API starts a reservation: Update-with-Start, the answer the stock decision. */
async function reserve(taskQueue: string) {
  const input = inputFor(LONG);
  const startWorkflowOperation = new WithStartWorkflowOperation(reservationWorkflow, {
    taskQueue,
    workflowId: reservationWorkflowId(input.reservationId),
    workflowIdConflictPolicy: 'FAIL',
    args: [input],
  });
  await client.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation });
  return startWorkflowOperation.workflowHandle();
}

/**
 * With RECORD_HISTORIES=1 (`npm run record:histories`), each path's history is saved for the
 * replay test, which proves later workflow code still replays the reservations already running.
 */
async function record(name: string, handle: { workflowId: string }) {
  if (!process.env.RECORD_HISTORIES) return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  // The CLI's JSON is the format `historyFromJSON` reads (and what an operator would export).
  const cli = resolveTemporalCli(process.env.TEMPORAL_CLI_PATH)!;
  const json = execFileSync(cli, ['workflow', 'show', '--workflow-id', handle.workflowId, '--output', 'json', '--address', inject('temporalAddress')], {
    encoding: 'utf8',
  });
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), json);
}

const statusOf = (handle: Awaited<ReturnType<typeof start>>, status: string) =>
  eventually(() => handle.query(stateQuery), (s) => s.status === status);

/** The events of a workflow's history, by type name (e.g. `WorkflowTaskCompleted`). */
async function eventCounts(handle: { fetchHistory(): Promise<{ events?: { eventType?: number | null }[] | null }> }) {
  const { temporal } = await import('@temporalio/proto');
  const names = temporal.api.enums.v1.EventType;
  const counts: Record<string, number> = {};
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const name = names[e.eventType ?? 0]!.replace(/^EVENT_TYPE_/, '');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('reservationWorkflow', () => {
  it('confirms with the assigned store, and completes on the `complete` signal', async () => {
    const { calls, activities } = mocks();
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    const confirmed = await statusOf(handle, 'CONFIRMED');
    expect(confirmed).toMatchObject({ store: STORE, fulfilment: 'PICKUP' });
    expect(Date.parse(confirmed.holdUntil!)).toBeGreaterThan(Date.now() + 3_500_000);
    await handle.signal(completeSignal, { by: 'staff-1' });
    expect((await handle.result()).status).toBe('COMPLETED');
    expect(calls).toEqual(['reserveStock', 'assignStore', 'completeAtStore']);
    await record('completed', handle);
  });

  it('keeps a hand-over that arrives while the store call is recording the confirmation, and completes once it has', async () => {
    const recorded = latch();
    const answer = latch();
    const { calls, activities } = mocks({
      async assignStore({ confirm }) {
        calls.push('assignStore');
        // The read model says CONFIRMED from here on, while the workflow waits for this result.
        recorded.open();
        await answer.opened;
        return { store: STORE, holdUntil: holdUntil(confirm) };
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await recorded.opened;
    await handle.signal(completeSignal, { by: 'staff-early' });
    await eventually(() => handle.query(stateQuery), (s) => s.status === 'ACCEPTED');
    answer.open();
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'COMPLETED', store: STORE, ignoredSignals: [] });
    expect(calls).toEqual(['reserveStock', 'assignStore', 'completeAtStore']);
    await record('complete-while-confirming', handle);
  });

  it('is accepted and confirmed in two workflow tasks, one activity task and two upserts, calling no notifier', async () => {
    const { activities } = mocks();
    worker = await startWorkerWith(activities);
    const handle = await reserve(worker.taskQueue);
    // Settled once the reminder timer is in the history. (No query meanwhile: a query answered
    // while the local activity runs opens one more workflow task.)
    const settled = (c: Record<string, number>) => c.TIMER_STARTED === 1 && c.WORKFLOW_TASK_COMPLETED === c.WORKFLOW_TASK_SCHEDULED;
    const counts = await eventually(() => eventCounts(handle), settled);
    expect(counts).toEqual({
      WORKFLOW_EXECUTION_STARTED: 1,
      // The decision's (with the update), and the confirmation's.
      WORKFLOW_TASK_SCHEDULED: 2,
      WORKFLOW_TASK_STARTED: 2,
      WORKFLOW_TASK_COMPLETED: 2,
      WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 1,
      WORKFLOW_EXECUTION_UPDATE_COMPLETED: 1,
      MARKER_RECORDED: 1, // the local stock decision
      // assignStore only: the messages leave through the notifier's drain, not a task of this workflow.
      ACTIVITY_TASK_SCHEDULED: 1,
      ACTIVITY_TASK_STARTED: 1,
      ACTIVITY_TASK_COMPLETED: 1,
      // ACCEPTED; CONFIRMED with the store.
      UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 2,
      // The reminder.
      TIMER_STARTED: 1,
    });
    await handle.terminate('shape checked');
  });

  it('compensates a cancel that arrives while the stock decision is running', async () => {
    const hold = latch();
    const entered = latch();
    const { calls, activities } = mocks({
      async reserveStock() {
        calls.push('reserveStock');
        entered.open();
        await hold.opened;
        return { accepted: true };
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await entered.opened;
    await handle.signal(cancelSignal, { reason: 'too slow' });
    hold.open();
    const state = await handle.result();
    expect(state).toMatchObject({ status: 'CANCELLED', cancelReason: 'too slow' });
    // The signal is seen after the decision's workflow task, which already asked for a store: that
    // round is released with the stock.
    expect(calls[0]).toBe('reserveStock');
    expect(calls.filter((c) => c.startsWith('release')).sort()).toEqual(['releaseAssignment', 'releaseStock:CANCELLED']);
    await record('cancel-during-decision', handle);
  });

  it('abandons an assignment that is retrying when a cancel arrives, and undoes it', async () => {
    const { calls, activities } = mocks({
      async assignStore() {
        calls.push('assignStore');
        throw ApplicationFailure.retryable('assignment service down');
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await eventually(async () => calls.filter((c) => c === 'assignStore').length, (n) => n >= 2);
    await handle.signal(cancelSignal, {});
    expect((await handle.result()).status).toBe('CANCELLED');
    const after = calls.filter((c) => c !== 'assignStore');
    expect(after[0]).toBe('reserveStock');
    expect(after.slice(1).sort()).toEqual(['releaseAssignment', 'releaseStock:CANCELLED']);
    await record('cancel-during-assignment', handle);
  });

  it('puts the stock back at once when cancelled, while the store slot waits for the assignment service', async () => {
    const serviceBack = latch();
    const { calls, activities } = mocks({
      async releaseAssignment() {
        calls.push('releaseAssignment');
        await serviceBack.opened;
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await statusOf(handle, 'CONFIRMED');
    await handle.signal(cancelSignal, { reason: 'found it cheaper' });
    // The stock is back and the reservation CANCELLED while the slot's release is still pending.
    await statusOf(handle, 'CANCELLED');
    await eventually(async () => calls, (c) => c.includes('releaseStock:CANCELLED') && c.includes('releaseAssignment'));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    serviceBack.open();
    expect((await handle.result()).status).toBe('CANCELLED');
    expect(calls.filter((c) => c.startsWith('release'))).toHaveLength(2);
    await record('cancel-after-confirmation', handle);
  });

  it('falls back to central-store delivery when no store is assigned before the deadline', async () => {
    const { calls, activities } = mocks({
      async assignStore() {
        calls.push('assignStore');
        throw ApplicationFailure.retryable('no store has free capacity', 'NoCapacity');
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue, { ...LONG, assignmentDeadlineMs: 2_500 });
    const confirmed = await statusOf(handle, 'CONFIRMED');
    expect(confirmed.store).toEqual({ storeId: CENTRAL_STORE.id, storeName: CENTRAL_STORE.name, distanceKm: null, fallback: true });
    expect(confirmed.fulfilment).toBe('DELIVERY');
    await eventually(async () => calls, (c) => c.includes('record:CONFIRMED') && c.includes('releaseAssignment')); // a late attempt's slot is freed
    await handle.cancel();
    await handle.result().catch(() => undefined);
    await record('fallback-central-delivery', handle);
  });

  it('completes a central-delivery reservation without a store call', async () => {
    const { calls, activities } = mocks({
      async assignStore() {
        calls.push('assignStore');
        throw ApplicationFailure.retryable('no store has free capacity', 'NoCapacity');
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue, { ...LONG, assignmentDeadlineMs: 1_500 });
    await statusOf(handle, 'CONFIRMED');
    await handle.signal(completeSignal, { by: 'courier-1' });
    expect((await handle.result()).status).toBe('COMPLETED');
    expect(calls).toContain('record:COMPLETED');
    expect(calls).not.toContain('completeAtStore');
    await record('completed-central-delivery', handle);
  });

  it('re-drives a central-delivery fallback on `reassign`: a new round moves it to a store, and a cancel undoes both rounds', async () => {
    const stores = { available: false };
    const { calls, activities } = redriveMocks(stores);
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue, { ...LONG, assignmentDeadlineMs: 2_500 });
    const fallback = await statusOf(handle, 'CONFIRMED');
    expect(fallback.store?.fallback).toBe(true);

    stores.available = true;
    await handle.signal(reassignSignal, { by: 'operator-1' });
    const moved = await eventually(() => handle.query(stateQuery), (s) => s.store?.storeId === STORE.storeId);
    expect(moved).toMatchObject({ status: 'CONFIRMED', fulfilment: 'PICKUP', store: STORE });
    expect(Date.parse(moved.holdUntil!)).toBeGreaterThan(Date.parse(fallback.holdUntil!));
    expect(calls).toContain('assignStore:2/REASSIGNED');

    // Nothing to re-drive any more: a second `reassign` is ignored, and recorded as such.
    await handle.signal(reassignSignal, { by: 'operator-2' });
    await eventually(() => handle.query(stateQuery), (s) => s.ignoredSignals.some((i) => i.name === 'reassign'));

    const before = calls.length;
    await handle.signal(cancelSignal, { reason: 'changed mind' });
    expect((await handle.result()).status).toBe('CANCELLED');
    // Compensation: the stock, and the slot of every round (the first's is a no-op).
    expect(calls.slice(before).sort()).toEqual(['releaseAssignment:1', 'releaseAssignment:2', 'releaseStock:CANCELLED']);
    await record('reassign-after-fallback', handle);
  });

  it('a re-drive that finds no store keeps central delivery, a repeat during a round is ignored, and the next re-drive uses a new round', async () => {
    const stores = { available: false };
    const { calls, activities } = redriveMocks(stores);
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue, { ...LONG, assignmentDeadlineMs: 2_000 });
    await statusOf(handle, 'CONFIRMED');

    await handle.signal(reassignSignal, { by: 'ops-1' });
    await eventually(async () => calls, (c) => c.includes('assignStore:2'));
    await handle.signal(reassignSignal, { by: 'ops-impatient' }); // while round 2 runs
    // Round 2 finds nothing before its deadline: still central delivery (recorded again over any
    // late write of the round), round 2's key released.
    await eventually(async () => calls, (c) => c.includes('releaseAssignment:2') && c.filter((x) => x.startsWith('record:CONFIRMED')).length === 2);
    const still = await handle.query(stateQuery);
    expect(still.store?.fallback).toBe(true);
    expect(still.ignoredSignals).toEqual([{ name: 'reassign', status: 'CONFIRMED', reason: 'ops-impatient' }]);
    expect(calls.filter((c) => c.startsWith('assignStore:3'))).toEqual([]);

    stores.available = true;
    await handle.signal(reassignSignal, { by: 'ops-1' });
    const moved = await eventually(() => handle.query(stateQuery), (s) => s.store?.storeId === STORE.storeId);
    expect(moved.status).toBe('CONFIRMED');
    expect(calls).toContain('assignStore:3/REASSIGNED');

    await handle.signal(completeSignal, { by: 'staff-1' });
    expect((await handle.result()).status).toBe('COMPLETED');
    expect(calls).toContain('completeAtStore:3'); // the store of the round that holds it
    await record('redrive-finds-no-store', handle);
  });

  it('reminds the customer, then expires with full compensation when not collected', async () => {
    const { calls, activities } = mocks();
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue, { assignmentDeadlineMs: 60_000, holdPeriodMs: 3_000, reminderBeforeMs: 1_500 });
    const state = await handle.result();
    expect(state.status).toBe('EXPIRED');
    expect(calls.slice(0, 3)).toEqual(['reserveStock', 'assignStore', 'remindCustomer']);
    expect(calls.slice(3).sort()).toEqual(['releaseAssignment', 'releaseStock:EXPIRED']);
    await record('reminder-then-expiry', handle);
  });

  it('ignores (and records) signals that can no longer change anything', async () => {
    const serviceBack = latch();
    const { calls, activities } = mocks({
      async releaseAssignment() {
        calls.push('releaseAssignment');
        await serviceBack.opened;
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await statusOf(handle, 'CONFIRMED');
    await handle.signal(cancelSignal, {});
    await statusOf(handle, 'CANCELLED');
    await handle.signal(cancelSignal, { reason: 'again' });
    await handle.signal(completeSignal, { by: 'staff-2' });
    const during = await eventually(() => handle.query(stateQuery), (s) => s.ignoredSignals.length === 2);
    expect(during.ignoredSignals).toEqual([
      { name: 'cancel', status: 'CANCELLED', reason: 'again' },
      { name: 'complete', status: 'CANCELLED', reason: 'staff-2' },
    ]);
    serviceBack.open();
    expect((await handle.result()).status).toBe('CANCELLED');
    expect(calls.filter((c) => c.startsWith('releaseStock'))).toHaveLength(1);
    await record('ignored-signals', handle);
  });

  it('treats a Temporal cancellation (Web UI "Cancel") like the cancel signal', async () => {
    const { calls, activities } = mocks();
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await statusOf(handle, 'CONFIRMED');
    await handle.cancel();
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(calls.slice(-2).sort()).toEqual(['releaseAssignment', 'releaseStock:CANCELLED']);
    await record('temporal-cancellation', handle);
  });

  it('rejects without compensation when out of stock', async () => {
    const { calls, activities } = mocks({
      async reserveStock() {
        calls.push('reserveStock');
        return { accepted: false, reason: 'OUT_OF_STOCK' };
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    const state = await handle.result();
    expect(state).toMatchObject({ status: 'REJECTED', rejectReason: 'OUT_OF_STOCK' });
    expect(calls).toEqual(['reserveStock']);
    await record('rejected-out-of-stock', handle);
  });

  it('rejects as STOCK_UNAVAILABLE when the decision cannot be made, undoing any partial write', async () => {
    const { calls, activities } = mocks({
      async reserveStock() {
        calls.push('reserveStock');
        throw ApplicationFailure.nonRetryable('database is down');
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    const state = await handle.result();
    expect(state).toMatchObject({ status: 'REJECTED', rejectReason: 'STOCK_UNAVAILABLE' });
    expect(calls).toEqual(['reserveStock', 'abandonReservation']);
    await record('rejected-stock-unavailable', handle);
  });
});
