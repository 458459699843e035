/**
 * The reconciler's activity: compares the read model, the stock ledger and the store slots with
 * the workflows' real states, and settles what a workflow could not (it was terminated, failed or
 * timed out), or what a lost write left behind. Every repair is idempotent: a second run, or two
 * at once, change nothing more.
 */
import { Context } from '@temporalio/activity';
import proto from '@temporalio/proto';
import type { Kysely } from 'kysely';
import { returnOrphanedAllowances } from '../launch/allowances.js';
import { outboxEntry } from '../notification/repository.js';
import { applyTransition } from '../reservation/repository.js';
import { putBackReservationStock } from '../product/stock.js';
import type { Database } from '../../db/schema.js';
import { parseAssignmentKey, reservationIdOfWorkflow, SearchAttributes, TERMINAL_STATUSES, type ReservationStatus } from '../reservation/contract.js';
import { WORKFLOW_TYPE } from '../../shared/queues.js';

export interface ReconcileInput {
  /** Workflows closed this long ago at most are compared (each run overlaps the last). */
  lookbackMs?: number;
  /** A slot still held this long after its reservation ended is released. */
  slotGraceMs?: number;
  /** An admission's allowance with no decision and no reservation this long after is given back. */
  allowanceOrphanMs?: number;
}

export interface ReconcileReport {
  /** Closed reservation workflows compared with the read model. */
  closedWorkflows: number;
  /** Reservations whose workflow ended without finishing them: stock back, CANCELLED, customer told. */
  compensated: string[];
  /** Reservations whose read model lagged behind their finished workflow. */
  repaired: string[];
  /** Store slots (assignment keys) released because their reservation had ended. */
  slotsReleased: string[];
  /** Admissions no decision followed (the API died before the workflow's start): their allowances given back. */
  allowancesReturned: string[];
}

// Far past the longest a decision can take once its workflow runs (30 s): only a start that never
// happened, or workers down this long, leave an admission undecided; a decision after it refuses.
const DEFAULTS = { lookbackMs: 24 * 3_600_000, slotGraceMs: 60_000, allowanceOrphanMs: 15 * 60_000 };
const OPEN: ReservationStatus[] = ['ACCEPTED', 'CONFIRMED', 'CANCEL_REQUESTED'];
// Written by the reconciler after the workflow has closed: above any version the workflow or a
// late attempt of its activities can still write, so nothing overwrites the settled state.
const SETTLED_VERSION_STEP = 1_000;

export interface ReconcileDeps {
  db: Kysely<Database>;
  /** The assignment service's ACTIVE slots unchanged since `before`, by assignment key (app/assignment/client.ts). */
  activeSlots(before: Date): AsyncIterable<{ key: string }>;
  /** Releases one store slot by its assignment key (idempotent). */
  releaseSlot(key: string): Promise<void>;
}

export function createReconcileActivities(deps: ReconcileDeps) {
  return {
    async reconcile(input: ReconcileInput = {}): Promise<ReconcileReport> {
      const { lookbackMs, slotGraceMs, allowanceOrphanMs } = { ...DEFAULTS, ...input };
      const closed = await closedReservationWorkflows(lookbackMs);
      const report: ReconcileReport = { closedWorkflows: closed.size, compensated: [], repaired: [], slotsReleased: [], allowancesReturned: [] };
      for (const row of await openReservationsAmong(deps.db, [...closed.keys()])) {
        const wf = closed.get(row.id)!;
        const final = finalStatusOf(wf);
        await settle(deps.db, row, wf.status, final);
        (final ? report.repaired : report.compensated).push(row.id);
      }
      report.slotsReleased = await releaseOrphanSlots(deps, slotGraceMs);
      report.allowancesReturned = await returnOrphanedAllowances(deps.db, allowanceOrphanMs);
      record(report);
      return report;
    },
  };
}

/** What the reconciler needs of a closed workflow: how it closed, and the status it last published. */
interface ClosedWorkflow {
  /** `COMPLETED`, `FAILED`, `TERMINATED`, `TIMED_OUT`, `CANCELED`, … */
  status: string;
  published: string | undefined;
}

/**
 * Reservation workflows closed within the lookback, by reservation id. Read from visibility as it
 * is: a memo or other payload sealed with a key this worker does not have (PAYLOAD_KEYS) must not
 * stop the reconciler, and it needs none of them; search attributes are never sealed.
 */
async function closedReservationWorkflows(lookbackMs: number) {
  const { client, info } = Context.current();
  const since = new Date(Date.now() - lookbackMs).toISOString();
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus != 'Running' AND CloseTime > '${since}'`;
  const statusNames = proto.temporal.api.enums.v1.WorkflowExecutionStatus;
  const closed = new Map<string, ClosedWorkflow>();
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({ namespace: info.workflowNamespace, query, nextPageToken });
    for (const e of page.executions ?? []) {
      const id = reservationIdOfWorkflow(e.execution?.workflowId);
      const status = (statusNames[e.status ?? 0] ?? '').replace('WORKFLOW_EXECUTION_STATUS_', '');
      if (id) closed.set(id, { status, published: keywordOf(e.searchAttributes?.indexedFields?.[SearchAttributes.status.name]) });
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return closed;
}

/** A Keyword search attribute's value (a JSON string payload). */
function keywordOf(payload: { data?: Uint8Array | null } | undefined): string | undefined {
  try {
    const value: unknown = payload?.data ? JSON.parse(Buffer.from(payload.data).toString('utf8')) : undefined;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

async function openReservationsAmong(db: Kysely<Database>, ids: string[]) {
  const rows = [];
  for (let i = 0; i < ids.length; i += 1_000) {
    const chunk = ids.slice(i, i + 1_000);
    rows.push(
      ...(await db
        .selectFrom('reservations as r')
        .innerJoin('products as p', 'p.id', 'r.product_id')
        .select(['r.id', 'r.status', 'r.version', 'r.fulfilment', 'p.name as product_name'])
        .where('r.id', 'in', chunk)
        .where('r.status', 'in', OPEN)
        .execute()),
    );
  }
  return rows;
}

/** The final state a workflow that completed normally published in its search attribute. */
function finalStatusOf(wf: ClosedWorkflow): 'COMPLETED' | 'CANCELLED' | 'EXPIRED' | undefined {
  if (wf.status !== 'COMPLETED') return undefined;
  const { published } = wf;
  return published === 'COMPLETED' || published === 'CANCELLED' || published === 'EXPIRED' ? published : undefined;
}

type OpenRow = Awaited<ReturnType<typeof openReservationsAmong>>[number];

/**
 * Brings one reservation to the state its closed workflow should have left: the published final
 * state of a workflow that completed, else CANCELLED with its stock back (the customer is told).
 */
async function settle(db: Kysely<Database>, row: OpenRow, closedAs: string, final: 'COMPLETED' | 'CANCELLED' | 'EXPIRED' | undefined) {
  const status = final ?? 'CANCELLED';
  const reason = final ? undefined : `workflow ${closedAs.toLowerCase().replaceAll('_', ' ')}: settled by the reconciler`;
  await db.transaction().execute(async (trx) => {
    if (status !== 'COMPLETED') await putBackReservationStock(trx, row.id);
    const notification = outboxEntry(status, { productName: row.product_name, status, fulfilment: row.fulfilment });
    await applyTransition(
      trx,
      row.id,
      { status, version: row.version + SETTLED_VERSION_STEP, detail: final ? 'reconciled with the finished workflow' : reason, ...(reason ? { cancelReason: reason } : {}) },
      notification,
    );
  });
}

const SLOT_BATCH = 1_000;

/**
 * Releases slots still ACTIVE for reservations that ended more than `graceMs` ago: the assignment
 * service lists its slots unchanged that long (a release may still be on its way before that), the
 * read model says which of their reservations have ended. While the service is down nothing is
 * released and the next run tries again; the other repairs go on.
 */
async function releaseOrphanSlots(deps: ReconcileDeps, graceMs: number): Promise<string[]> {
  const released: string[] = [];
  let batch: string[] = [];
  try {
    for await (const { key } of deps.activeSlots(new Date(Date.now() - graceMs))) {
      batch.push(key);
      if (batch.length < SLOT_BATCH) continue;
      released.push(...(await releaseEnded(deps, batch, graceMs)));
      batch = [];
      Context.current().heartbeat(released.length);
    }
    released.push(...(await releaseEnded(deps, batch, graceMs)));
  } catch (err) {
    // The service down (or the read model unreachable): the rest of the run is not held up by it.
    Context.current().log.warn('reconciler: orphan slots not settled this run; the next run tries again', { error: String(err) });
  }
  return released;
}

/** Of these slots, releases those whose reservation ended more than `graceMs` ago. */
async function releaseEnded(deps: ReconcileDeps, keys: string[], graceMs: number): Promise<string[]> {
  if (keys.length === 0) return [];
  const ended = await endedReservationsAmong(deps.db, [...new Set(keys.map((k) => parseAssignmentKey(k).reservationId))], graceMs);
  const released: string[] = [];
  for (const key of keys.filter((k) => ended.has(parseAssignmentKey(k).reservationId))) {
    try {
      await deps.releaseSlot(key);
      released.push(key);
    } catch (err) {
      Context.current().log.warn('reconciler: slot release failed; the next run tries again', { key, error: String(err) });
    }
  }
  return released;
}

async function endedReservationsAmong(db: Kysely<Database>, ids: string[], graceMs: number): Promise<Set<string>> {
  const rows = await db
    .selectFrom('reservations')
    .select('id')
    .where('id', 'in', ids)
    .where('status', 'in', [...TERMINAL_STATUSES])
    .where('updated_at', '<', new Date(Date.now() - graceMs))
    .execute();
  return new Set(rows.map((r) => r.id));
}

function record(report: ReconcileReport) {
  const { log, metricMeter } = Context.current();
  const repairs = metricMeter.createCounter('reconciler_repairs', 'repairs', 'What the reconciler settled, by kind');
  const counts = {
    compensated: report.compensated.length,
    repaired: report.repaired.length,
    slot_released: report.slotsReleased.length,
    allowance_returned: report.allowancesReturned.length,
  };
  for (const [kind, n] of Object.entries(counts)) if (n > 0) repairs.add(n, { kind });
  const fields = { closedWorkflows: report.closedWorkflows, ...counts, reservations: [...report.compensated, ...report.repaired] };
  if (Object.values(counts).some((n) => n > 0)) log.warn('reconciler: repaired', fields);
  else log.info('reconciler: nothing to repair', fields);
}
