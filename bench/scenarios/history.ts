/**
 * The shape of a reservation's history on each lifecycle path, driven through the API: how many
 * events, workflow tasks, activities, local-activity markers, timers, search-attribute upserts,
 * signals and updates each path costs Temporal. The baselines' histories are shown beside them.
 */
import { WithStartWorkflowOperation } from '@temporalio/client';
import proto from '@temporalio/proto';
import { newReservationId } from '../../platform/ids.js';
import type { ReservationStatus } from '../../app/reservation/contract.js';
import { waitUntil } from '../../platform/process.js';
import type { Ctx } from '../context.js';
import { sleep } from '../load.js';
import { skeletonReserve } from '../workflows.js';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

export interface HistoryShape {
  path: string;
  end_status: string;
  workflow_id: string | null;
  /** Why there is no history, when there is none. */
  note?: string;
  events: number;
  workflow_tasks: number;
  activity_tasks: number;
  local_activity_markers: number;
  other_markers: number;
  timers: number;
  search_attribute_upserts: number;
  signals: number;
  updates: number;
  by_type: Record<string, number>;
}

const EventType = proto.temporal.api.enums.v1.EventType;

/** EVENT_TYPE_WORKFLOW_TASK_COMPLETED → WorkflowTaskCompleted. */
function typeName(e: HistoryEvent): string {
  const raw = EventType[e.eventType ?? 0] ?? String(e.eventType);
  return raw.replace(/^EVENT_TYPE_/, '').toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

function shapeOf(path: string, endStatus: string, workflowId: string, events: HistoryEvent[]): HistoryShape {
  const byType: Record<string, number> = {};
  for (const e of events) byType[typeName(e)] = (byType[typeName(e)] ?? 0) + 1;
  const markers = events.filter((e) => e.markerRecordedEventAttributes);
  const localMarkers = markers.filter((e) => e.markerRecordedEventAttributes!.markerName === 'core_local_activity').length;
  const n = (type: string) => byType[type] ?? 0;
  return {
    path,
    end_status: endStatus,
    workflow_id: workflowId,
    events: events.length,
    workflow_tasks: n('WorkflowTaskCompleted'),
    activity_tasks: n('ActivityTaskScheduled'),
    local_activity_markers: localMarkers,
    other_markers: markers.length - localMarkers,
    timers: n('TimerStarted'),
    search_attribute_upserts: n('UpsertWorkflowSearchAttributes'),
    signals: n('WorkflowExecutionSignaled'),
    updates: n('WorkflowExecutionUpdateAccepted'),
    by_type: byType,
  };
}

function noWorkflow(path: string, endStatus: string, note: string): HistoryShape {
  return {
    path, end_status: endStatus, workflow_id: null, note, events: 0, workflow_tasks: 0, activity_tasks: 0, local_activity_markers: 0,
    other_markers: 0, timers: 0, search_attribute_upserts: 0, signals: 0, updates: 0, by_type: {},
  };
}

async function events(ctx: Ctx, workflowId: string): Promise<HistoryEvent[]> {
  return (await ctx.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** Waits until a history has not grown for a second (the work after the last status change is done). */
async function settledHistory(ctx: Ctx, workflowId: string): Promise<HistoryEvent[]> {
  let last = -1;
  let stableSince = Date.now();
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
    const now = await events(ctx, workflowId);
    if (now.length !== last) [last, stableSince] = [now.length, Date.now()];
    else if (Date.now() - stableSince >= 1_000) return now;
  }
  return events(ctx, workflowId);
}

async function statusOf(ctx: Ctx, id: string): Promise<{ status: ReservationStatus; workflowId: string | null }> {
  const r = await ctx.api.admin('GET', `/reservations/${id}`);
  return { status: r.body.status as ReservationStatus, workflowId: (r.body.workflowId as string | null) ?? null };
}

async function reachStatus(ctx: Ctx, id: string, status: ReservationStatus): Promise<string> {
  const ok = await waitUntil(async () => (await statusOf(ctx, id)).status === status, 60_000, 200);
  if (!ok) throw new Error(`history: reservation ${id} never reached ${status} (is ${(await statusOf(ctx, id)).status})`);
  return (await statusOf(ctx, id)).workflowId!;
}

/** One reservation through a path; `then` acts on the confirmed one and names the status it ends in. */
async function confirmedPath(ctx: Ctx, path: string, product: number, i: number, then?: (id: string) => Promise<ReservationStatus>): Promise<HistoryShape> {
  const r = await ctx.api.reserve(product, i);
  if (r.status !== 201) throw new Error(`history ${path}: reserve answered ${r.status}: ${JSON.stringify(r.body)}`);
  const id = r.body.id as string;
  const workflowId = await reachStatus(ctx, id, 'CONFIRMED');
  if (!then) return shapeOf(path, 'CONFIRMED', workflowId, await settledHistory(ctx, workflowId));
  const end = await then(id);
  await reachStatus(ctx, id, end);
  await ctx.client.workflow.getHandle(workflowId).result().catch(() => undefined);
  return shapeOf(path, end, workflowId, await events(ctx, workflowId));
}

async function rejectPath(ctx: Ctx): Promise<HistoryShape> {
  const soldOut = await ctx.api.newProduct(0);
  const r = await ctx.api.reserve(soldOut, 0);
  if (r.status !== 409) throw new Error(`history reject: a sold-out product answered ${r.status}: ${JSON.stringify(r.body)}`);
  const id = r.body.reservationId as string;
  const { status, workflowId } = await statusOf(ctx, id);
  if (!workflowId) return noWorkflow('reject (sold out)', status, 'no workflow: refused on arrival');
  await ctx.client.workflow.getHandle(workflowId).result().catch(() => undefined);
  return shapeOf('reject (sold out)', status, workflowId, await events(ctx, workflowId));
}

async function baselineShapes(ctx: Ctx): Promise<HistoryShape[]> {
  const bareId = `bench-bare-${newReservationId()}`;
  await ctx.client.workflow.execute('bareWorkflow', { workflowId: bareId, taskQueue: ctx.baselineQueue });
  const skeletonId = `bench-skeleton-${newReservationId()}`;
  await ctx.client.workflow.executeUpdateWithStart(skeletonReserve, {
    startWorkflowOperation: new WithStartWorkflowOperation('skeletonWorkflow', { workflowId: skeletonId, taskQueue: ctx.baselineQueue, workflowIdConflictPolicy: 'FAIL' }),
    updateId: 'reserve',
  });
  await ctx.client.workflow.getHandle(skeletonId).result();
  return [
    shapeOf('baseline: skeleton (1 s hold, ends)', 'COMPLETED', skeletonId, await events(ctx, skeletonId)),
    shapeOf('baseline: bare', 'COMPLETED', bareId, await events(ctx, bareId)),
  ];
}

export async function historyShapes(ctx: Ctx): Promise<HistoryShape[]> {
  const product = await ctx.api.newProduct(100);
  const shapes = await Promise.all([
    confirmedPath(ctx, 'accept + confirm (holding)', product, 0),
    confirmedPath(ctx, 'complete', product, 1, async (id) => {
      const c = await ctx.api.admin('POST', `/reservations/${id}/complete`, { by: 'bench' });
      if (c.status !== 202) throw new Error(`history complete: answered ${c.status}: ${JSON.stringify(c.body)}`);
      return 'COMPLETED';
    }),
    confirmedPath(ctx, 'cancel after confirmation', product, 2, async (id) => {
      const c = await ctx.api.admin('POST', `/reservations/${id}/cancel`, { reason: 'bench' });
      if (c.status !== 202) throw new Error(`history cancel: answered ${c.status}: ${JSON.stringify(c.body)}`);
      return 'CANCELLED';
    }),
    rejectPath(ctx),
  ]);
  return [...shapes, ...(await baselineShapes(ctx))];
}
