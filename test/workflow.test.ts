/** The reservation workflow's logic with mocked activities, on the real Temporal dev server. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../activities/index.js';
import { cancelSignal, reservationWorkflowId, stateQuery, type ReservationInput } from '../shared/contract.js';
import { newReservationId } from '../shared/ids.js';
import { reservationWorkflow } from '../workflows/reservation.js';
import { connectClient, eventually, startWorkerWith, type TestWorker } from './helpers.js';

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

function mocks(overrides: Partial<Activities> = {}) {
  const calls: string[] = [];
  const activities: Activities = {
    async reserveStock() {
      calls.push('reserveStock');
      return { accepted: true };
    },
    async releaseStock() {
      calls.push('releaseStock');
      return { released: 1 };
    },
    async recordStatus({ status }) {
      calls.push(`recordStatus:${status}`);
    },
    ...overrides,
  };
  return { calls, activities };
}

async function start(taskQueue: string) {
  const input: ReservationInput = { reservationId: newReservationId(), productId: 1, quantity: 1, customerId: 'c-1' };
  return client.workflow.start(reservationWorkflow, {
    taskQueue,
    workflowId: reservationWorkflowId(input.reservationId),
    args: [input],
  });
}

describe('reservationWorkflow', () => {
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
    expect(calls).toEqual(['reserveStock', 'recordStatus:CANCEL_REQUESTED', 'releaseStock', 'recordStatus:CANCELLED']);
  });

  it('ignores (and records) a second cancel while the first is being compensated', async () => {
    const hold = latch();
    const { calls, activities } = mocks({
      async releaseStock() {
        calls.push('releaseStock');
        await hold.opened;
        return { released: 1 };
      },
    });
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await eventually(() => handle.query(stateQuery), (s) => s.status === 'ACCEPTED');
    await handle.signal(cancelSignal, {});
    await eventually(() => handle.query(stateQuery), (s) => s.status === 'CANCEL_REQUESTED');
    await handle.signal(cancelSignal, { reason: 'again' });
    const during = await eventually(() => handle.query(stateQuery), (s) => s.ignoredSignals.length === 1);
    expect(during.ignoredSignals[0]).toEqual({ name: 'cancel', status: 'CANCEL_REQUESTED', reason: 'again' });
    hold.open();
    expect((await handle.result()).status).toBe('CANCELLED');
    expect(calls.filter((c) => c === 'releaseStock')).toHaveLength(1);
  });

  it('treats a Temporal cancellation (Web UI "Cancel") like the cancel signal', async () => {
    const { calls, activities } = mocks();
    worker = await startWorkerWith(activities);
    const handle = await start(worker.taskQueue);
    await eventually(() => handle.query(stateQuery), (s) => s.status === 'ACCEPTED');
    await handle.cancel();
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(calls).toEqual(['reserveStock', 'recordStatus:CANCEL_REQUESTED', 'releaseStock', 'recordStatus:CANCELLED']);
  });

  it('rejects without compensation when out of stock', async () => {
    const { calls, activities } = mocks({
      async reserveStock() {
        calls.push('reserveStock');
        return { accepted: false, reason: 'OUT_OF_STOCK' };
      },
    });
    worker = await startWorkerWith(activities);
    const state = await (await start(worker.taskQueue)).result();
    expect(state).toMatchObject({ status: 'REJECTED', rejectReason: 'OUT_OF_STOCK' });
    expect(calls).toEqual(['reserveStock']);
  });

  it('rejects as STOCK_UNAVAILABLE when the decision cannot be made, undoing any partial write', async () => {
    const { calls, activities } = mocks({
      async reserveStock() {
        calls.push('reserveStock');
        throw ApplicationFailure.nonRetryable('database is down');
      },
    });
    worker = await startWorkerWith(activities);
    const state = await (await start(worker.taskQueue)).result();
    expect(state).toMatchObject({ status: 'REJECTED', rejectReason: 'STOCK_UNAVAILABLE' });
    expect(calls).toEqual(['reserveStock', 'releaseStock', 'recordStatus:REJECTED']);
  });
});
