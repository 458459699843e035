/**
 * The reservation workflow with mocked activities on Temporal's time-skipping test server: the
 * production policy (7-day hold, reminder a day before, 10-minute assignment deadline) runs at its
 * real durations in workflow time, each test within the tier's test timeout of wall time.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation, WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Activities } from '../../workers/activities.js';
import { parseConfig } from '../../platform/config.js';
import {
  cancelSignal,
  completeSignal,
  reservationWorkflowId,
  reserveUpdate,
  SearchAttributes,
  stateQuery,
  type ReservationInput,
  type ReservationState,
} from '../../app/reservation/contract.js';
import { newReservationId } from '../../platform/ids.js';
import { reservationWorkflow } from '../../app/reservation/workflow.js';

const DAY = 24 * 3_600_000;
// What a deployment runs unless configured otherwise.
const POLICY = parseConfig({}).policy;
const STORE = { storeId: 'gangnam', storeName: '강남역점', distanceKm: 1.2, fallback: false };

async function startTestServer(): Promise<TestWorkflowEnvironment> {
  const server = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServerPath') } },
  });
  // The test server knows no custom search attribute until told, and fails the workflow task that sets one.
  // (It lacks the listing that workers/search-attributes.ts asks for first.)
  const { IndexedValueType } = proto.temporal.api.enums.v1;
  await server.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(Object.values(SearchAttributes).map((k) => [k.name, IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`]])),
  });
  return server;
}

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  // Quiet: the failures these tests cause on purpose would otherwise log a warning per retry.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } }, shutdownSignals: [] });
  env = await startTestServer();
});
afterAll(() => env?.teardown());

/**
 * Runs `body` on a test server of its own. For a test that leaves an activity running past its
 * workflow's end: the server it ran on would never skip time again.
 */
async function onOwnServer<T>(body: () => Promise<T>): Promise<T> {
  const shared = env;
  env = await startTestServer();
  try {
    return await body();
  } finally {
    await env.teardown();
    env = shared;
  }
}

/** The activities the lean workflow calls. */
type Used = Pick<
  Activities,
  'reserveStock' | 'abandonReservation' | 'releaseStock' | 'recordTransition' | 'remindCustomer' | 'assignStore' | 'releaseAssignment' | 'completeAtStore'
>;

/**
 * Mocks that record each call with the workflow-time instant it came at; a store takes the
 * reservation and holds it for the policy's period from then, as the assignment service does.
 */
function mocks(overrides: (note: (name: string) => Promise<void>) => Partial<Used> = () => ({})) {
  const calls: { name: string; at: number }[] = [];
  const note = async (name: string) => void calls.push({ name, at: await env.currentTimeMs() });
  const activities: Used = {
    reserveStock: async () => (await note('reserveStock'), { accepted: true }),
    abandonReservation: async () => note('abandonReservation'),
    releaseStock: async ({ final }) => (await note(`releaseStock:${final.status}`), { released: 1 }),
    recordTransition: async ({ transition, notify }) => note(`record:${transition.status}${notify ? `/${notify}` : ''}`),
    remindCustomer: async () => note('remindCustomer'),
    async assignStore({ confirm }) {
      await note('assignStore');
      return { store: STORE, holdUntil: new Date((await env.currentTimeMs()) + confirm.holdPeriodMs).toISOString() };
    },
    releaseAssignment: async () => note('releaseAssignment'),
    completeAtStore: async () => note('completeAtStore'),
    ...overrides(note),
  };
  const names = () => calls.map((c) => c.name);
  const when = (name: string) => calls.find((c) => c.name === name)?.at;
  return { names, when, activities };
}

/** Runs `body` with a worker for the workflow. */
async function withWorkers<T>(mocked: ReturnType<typeof mocks>, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `unit-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: inject('unitWorkflowBundlePath') },
    activities: mocked.activities,
  });
  return worker.runUntil(body(taskQueue));
}

const inputFor = (): ReservationInput => ({
  reservationId: newReservationId(),
  productId: 1,
  quantity: 1,
  customerId: 'c-1',
  fulfilment: 'PICKUP',
  policy: POLICY,
});

async function start(taskQueue: string) {
  const input = inputFor();
  const startedAt = await env.currentTimeMs();
  const handle = await env.client.workflow.start(reservationWorkflow, { taskQueue, workflowId: reservationWorkflowId(input.reservationId), args: [input] });
  return { handle, startedAt };
}

type Handle = Awaited<ReturnType<typeof start>>['handle'];

/** Polls the `state` query (time does not skip meanwhile: only awaiting a result or env.sleep skips it). */
async function stateWhen(handle: Handle, ok: (s: ReservationState) => boolean): Promise<ReservationState> {
  for (let i = 0; i < 200; i++) {
    const state = await handle.query(stateQuery);
    if (ok(state)) return state;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`state never matched; last: ${JSON.stringify(await handle.query(stateQuery))}`);
}

const confirmed = (handle: Handle) => stateWhen(handle, (s) => s.status === 'CONFIRMED');

let testStartedAt = 0;
beforeEach(() => void (testStartedAt = Date.now()));
/** The real time this test has taken so far. */
const realTimeSoFar = () => Date.now() - testStartedAt;

/**
 * Two instants of workflow time differ from what the policy says by the real time that passed
 * between them while time could not skip (a task or an activity running, a query polling): never
 * more than the real time the test has taken, on however loaded a machine. The policy's steps are
 * minutes to days apart.
 */
const near = (actual: number | undefined, expected: number) => expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(realTimeSoFar());

describe('reservationWorkflow on the time-skipping test server', () => {
  it('uses the production policy: a 7-day hold, a reminder 1 day before its end, a 10-minute assignment deadline', () => {
    expect(POLICY).toEqual({ holdPeriodMs: 7 * DAY, reminderBeforeMs: DAY, assignmentDeadlineMs: 10 * 60_000 });
  });

  it('reminds a customer who never picks up 6 days in, and expires the reservation after 7 days', async () => {
    const m = mocks();
    const { state, startedAt } = await withWorkers(m, async (taskQueue) => {
      const { handle, startedAt } = await start(taskQueue);
      return { state: await handle.result(), startedAt };
    });
    expect(state).toMatchObject({ status: 'EXPIRED', store: STORE });
    expect(m.names()).toEqual(['reserveStock', 'assignStore', 'remindCustomer', 'releaseStock:EXPIRED', 'releaseAssignment']);
    const holdUntil = Date.parse(state.holdUntil!);
    near(holdUntil, m.when('assignStore')! + 7 * DAY);
    near(m.when('remindCustomer'), holdUntil - DAY);
    near(m.when('releaseStock:EXPIRED'), holdUntil);
    expect(m.when('releaseStock:EXPIRED')! - startedAt).toBeGreaterThanOrEqual(7 * DAY);
  });

  it('completes a pickup after the reminder: the store slot is completed, the stock stays sold', async () => {
    const m = mocks();
    const state = await withWorkers(m, async (taskQueue) => {
      const { handle } = await start(taskQueue);
      const { holdUntil } = await confirmed(handle);
      await env.sleep(6.5 * DAY);
      expect((await handle.query(stateQuery)).status).toBe('CONFIRMED');
      await handle.signal(completeSignal, { by: 'staff-1' });
      const done = await handle.result();
      near(m.when('completeAtStore'), Date.parse(holdUntil!) - 0.5 * DAY);
      return done;
    });
    expect(state).toMatchObject({ status: 'COMPLETED', store: STORE, ignoredSignals: [] });
    expect(m.names()).toEqual(['reserveStock', 'assignStore', 'remindCustomer', 'completeAtStore']);
  });

  it('compensates a cancel before pickup exactly once: the stock back and the store slot released', async () => {
    const m = mocks();
    const state = await withWorkers(m, async (taskQueue) => {
      const { handle } = await start(taskQueue);
      await confirmed(handle);
      await env.sleep(2 * DAY);
      await handle.signal(cancelSignal, { reason: 'changed my mind' });
      // A second cancel, and a hand-over, arrive too late to change anything.
      await handle.signal(cancelSignal, { reason: 'again' });
      await handle.signal(completeSignal, { by: 'staff-1' });
      const done = await handle.result();
      // Nothing is left to fire: the hold period's end passes without another compensation.
      await env.sleep(6 * DAY);
      return done;
    });
    expect(state).toMatchObject({ status: 'CANCELLED', cancelReason: 'changed my mind' });
    expect(state.ignoredSignals.map((s) => s.name)).toEqual(['cancel', 'complete']);
    expect(m.names()).toEqual(['reserveStock', 'assignStore', 'releaseStock:CANCELLED', 'releaseAssignment']);
  });

  it('compensates a cancel that comes while the store is being found: the slot the late call takes is released once', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const m = mocks((note) => ({
      async assignStore({ confirm }) {
        await note('assignStore');
        await answered;
        return { store: STORE, holdUntil: new Date((await env.currentTimeMs()) + confirm.holdPeriodMs).toISOString() };
      },
    }));
    const state = await onOwnServer(() =>
      withWorkers(m, async (taskQueue) => {
        const { handle } = await start(taskQueue);
        await stateWhen(handle, (s) => s.status === 'ACCEPTED' && m.names().includes('assignStore'));
        await handle.signal(cancelSignal, { reason: 'found it cheaper' });
        const done = await handle.result();
        answer(); // the abandoned call ends late, as a slow real one would: nobody listens any more
        return done;
      }),
    );
    expect(state).toMatchObject({ status: 'CANCELLED', store: null, cancelReason: 'found it cheaper' });
    expect(m.names()).toEqual(['reserveStock', 'assignStore', 'releaseStock:CANCELLED', 'releaseAssignment']);
  });

  it('rejects at once when the stock is gone: no store asked, nothing to give back, no timer', async () => {
    const m = mocks((note) => ({ reserveStock: async () => (await note('reserveStock'), { accepted: false, reason: 'OUT_OF_STOCK' }) }));
    const { answer, state, handle } = await withWorkers(m, async (taskQueue) => {
      // As the API starts it: the update comes with the start, so the first task answers it and ends the run.
      const input = inputFor();
      const startWorkflowOperation = new WithStartWorkflowOperation(reservationWorkflow, {
        taskQueue,
        workflowId: reservationWorkflowId(input.reservationId),
        workflowIdConflictPolicy: 'FAIL',
        args: [input],
      });
      const answer = await env.client.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation });
      const handle = await startWorkflowOperation.workflowHandle();
      return { answer, state: await handle.result(), handle };
    });
    expect(answer).toMatchObject({ status: 'REJECTED', rejectReason: 'OUT_OF_STOCK' });
    expect(state.status).toBe('REJECTED');
    expect(m.names()).toEqual(['reserveStock']);
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.map((e) => e.eventType)).not.toContain(proto.temporal.api.enums.v1.EventType.EVENT_TYPE_TIMER_STARTED);
    // Nor anything else durable: the server skips the time of whatever the workflow waits on, so its
    // whole life took no more workflow time than the real time the test has taken.
    const [first, last] = [events[0]!, events.at(-1)!].map((e) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6));
    expect(last! - first!).toBeLessThanOrEqual(realTimeSoFar());
  });

  it('falls back to central-store delivery when the assignment service stays down past the 10-minute deadline', async () => {
    let attempts = 0;
    const m = mocks(() => ({
      async assignStore() {
        attempts++;
        throw ApplicationFailure.retryable('assignment service unavailable', 'AssignmentUnavailable');
      },
    }));
    const { fallback, done, startedAt } = await withWorkers(m, async (taskQueue) => {
      const { handle, startedAt } = await start(taskQueue);
      await env.sleep(POLICY.assignmentDeadlineMs + 60_000);
      const fallback = await confirmed(handle);
      await handle.signal(completeSignal, { by: 'courier' });
      return { fallback, done: await handle.result(), startedAt };
    });
    expect(fallback).toMatchObject({ fulfilment: 'DELIVERY', store: { storeId: 'central-online', fallback: true } });
    const confirmedAt = m.when('record:CONFIRMED/CONFIRMED')!;
    // Retries stop once the next one would start past the deadline: at most one backoff (30 s) early.
    const deadline = startedAt + POLICY.assignmentDeadlineMs;
    expect(confirmedAt).toBeGreaterThan(deadline - 40_000);
    expect(confirmedAt).toBeLessThanOrEqual(deadline + realTimeSoFar());
    near(Date.parse(fallback.holdUntil!), confirmedAt + 7 * DAY);
    // Retried with backoff up to 30 s apart for the whole deadline, not given up early.
    expect(attempts).toBeGreaterThan(10);
    expect(done.status).toBe('COMPLETED');
    // Central delivery holds no store slot (a late attempt's is released, in the background), so
    // the hand-over is only recorded.
    const names = m.names();
    expect(names[0]).toBe('reserveStock');
    expect(names.at(-1)).toBe('record:COMPLETED/COMPLETED');
    expect(names.slice(1, -1).sort()).toEqual(['record:CONFIRMED/CONFIRMED', 'releaseAssignment']);
  });

  it('compensates a Temporal cancellation (Web UI "Cancel") like a cancel signal, and ends cancelled', async () => {
    const m = mocks();
    const failure = await withWorkers(m, async (taskQueue) => {
      const { handle } = await start(taskQueue);
      await confirmed(handle);
      await handle.cancel();
      return handle.result().catch((err: unknown) => err);
    });
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(m.names()).toEqual(['reserveStock', 'assignStore', 'releaseStock:CANCELLED', 'releaseAssignment']);
  });
});
