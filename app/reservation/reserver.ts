/**
 * Reserving, below HTTP: admission (the claim on units and allowance, or why not) and the stock
 * decision (the reservation's workflow, started with Update-with-Start and waited on). A request by
 * itself and a ticket the line admitted go through the same two steps; only who may enter differs.
 */
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { bulkhead } from 'cockatiel';
import { sql } from 'kysely';
import { admit, type Admission } from '../launch/admission.js';
import { returnUndecidedAllowance } from '../launch/allowances.js';
import { groupWriter } from '../../db/group-writer.js';
import { outboxEntry } from '../notification/repository.js';
import { findProduct } from '../product/repository.js';
import { getReservationView, insertRefusals, readModelRow, type ContactRow, type Refusal } from './repository.js';
import type { ReservationView } from './mapping.js';
import { reservationWorkflowId, reserveUpdate, SearchAttributes, type ReservationInput, type ReservationState } from './contract.js';
import { WORKFLOW_TYPE } from '../../shared/queues.js';
import type { Logger } from '../../platform/log.js';
import type { reservationWorkflow } from './workflow.js';
import type { AdmissionPolicy, AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import type { SaleBoard } from '../launch/sale-board.js';

// How long a reserve request may wait for the stock decision before answering 503 (AppDeps can say otherwise).
const DECISION_DEADLINE_MS = 40_000;
export const DEFAULT_ADMISSION: AdmissionPolicy = { leaseMs: 10_000, soldOutMemoryMs: 250, maxInFlight: 32, maxClaims: 4 };

/** What admission made of a request. */
export type Entry =
  | { kind: 'admitted'; productName: string }
  /**
   * Sold out. A request by itself is refused and recorded (once per customer): `reservationId` is
   * the refusal that stands for it. A place in line that finds it sold out is no reservation, and
   * neither is a refusal after a sell-out through the line: none.
   */
  | { kind: 'sold-out'; reservationId: string | null }
  /** A request by itself that must take a place in line. */
  | { kind: 'queue' }
  /** The line's ticket asked for units that every decision in flight holds: admitted again next. */
  | { kind: 'held' };

/** Problems of an admission that changed nothing (the caller may release its Idempotency-Key). */
export function refusalOf(a: Exclude<Admission, { outcome: 'ADMITTED' | 'SOLD_OUT' | 'QUEUE' | 'HELD' }>, productId: number): Problem {
  switch (a.outcome) {
    case 'UNKNOWN_PRODUCT':
      return new Problem(422, 'UNKNOWN_PRODUCT', `product ${productId} does not exist`);
    case 'LIMIT_REACHED':
      return new Problem(409, 'LIMIT_REACHED', `${a.product.name} is limited to ${a.unitLimit} unit(s) per customer and per phone number, and yours are taken`, {
        unitLimit: a.unitLimit,
      });
    case 'NOT_OPEN': {
      const seconds = Math.max(1, Math.ceil((a.opensAt.getTime() - Date.now()) / 1000));
      return new Problem(
        409,
        'SALE_NOT_OPEN',
        `${a.product.name} goes on sale at ${a.opensAt.toISOString()}; join its line now (POST /products/${productId}/tickets) to be in it at the opening`,
        { opensAt: a.opensAt.toISOString() },
        { 'Retry-After': String(seconds) },
      );
    }
    case 'CLOSED':
      return new Problem(409, 'SALE_CLOSED', `the sale of ${a.product.name} closed at ${a.closesAt.toISOString()}`, { closesAt: a.closesAt.toISOString() });
  }
}

/**
 * Products this process found with no stock at all, for a moment: a launch's rush for a sold-out
 * phone is refused without a database read per request. Only refusals come from here, so it can
 * never let in more than the stock; a unit given back is offered again once the memory lapses.
 */
function soldOutMemory(ms: number) {
  const seen = new Map<number, { product: { id: number; name: string }; until: number }>();
  return {
    remember(a: Admission) {
      if (ms > 0 && a.outcome === 'SOLD_OUT' && a.stock === 0) seen.set(a.product.id, { product: a.product, until: Date.now() + ms });
    },
    recall(productId: number): Admission | undefined {
      const known = seen.get(productId);
      if (!known) return undefined;
      if (known.until > Date.now()) return { outcome: 'SOLD_OUT', product: known.product, stock: 0 };
      seen.delete(productId);
      return undefined;
    },
  };
}

/** How old the sale board's read of a line may be to send a request straight to it. */
const LINE_SEEN_MS = 1_000;

/** What reserving needs: the database, Temporal and the reservations' task queue, and its limits. */
export type ReserverDeps = Pick<AppDeps, 'db' | 'temporal' | 'taskQueue' | 'admission' | 'decisionDeadlineMs'>;

export function createReserver(deps: ReserverDeps, board: SaleBoard) {
  const policy = deps.admission ?? DEFAULT_ADMISSION;
  const soldOut = soldOutMemory(policy.soldOutMemoryMs);
  // The line admits up to ADMISSION_MAX_IN_FLIGHT at once, and their claims on one product queue on
  // its row: the rest wait here, so a rush's claims never take every pooled connection.
  const claims = bulkhead(policy.maxClaims ?? DEFAULT_ADMISSION.maxClaims!, Number.POSITIVE_INFINITY);

  /**
   * Whether this process saw the product's line engaged a moment ago (people waiting, the desk
   * metering or pausing): a request by itself then takes its place at once, without the claim it
   * would not get. Always fair: the claim's own gate is the authority on letting anyone in.
   */
  const lineEngaged = (productId: number) => {
    const seen = board.peek(productId);
    return seen !== undefined && Date.now() - seen.readAt < LINE_SEEN_MS && seen.state !== 'SCHEDULED' && seen.state !== 'CLOSED' && seen.stock > 0 &&
      (seen.waiting > 0 || seen.paused || seen.admission_rate !== null);
  };

  /**
   * What this process read of the product a moment ago (within the sold-out memory) when it showed
   * fewer units than asked: a rush for a sold-out phone is refused without asking the database.
   * Only refusals come from it, so it can never let in more than the stock.
   */
  const soldOutSeen = (productId: number, quantity: number): Admission | undefined => {
    const seen = board.peek(productId);
    if (!seen || Date.now() - seen.readAt > policy.soldOutMemoryMs || seen.stock >= quantity) return undefined;
    return { outcome: 'SOLD_OUT', product: { id: seen.id, name: seen.name }, stock: seen.stock };
  };

  /**
   * A sold-out refusal is recorded (a REJECTED reservation, its customer told once) unless the
   * product sold out through its line: then everyone who waited was told, and the rush arriving
   * after is answered on the page only, not as hundreds of thousands of reservations and messages.
   */
  const recorded = (productId: number) => !board.peek(productId)?.sold_out_at;
  // Sold-out refusals of many customers at once are recorded together (db/group-writer.ts).
  const recordRefusal = groupWriter<Refusal, string>((refusals) => insertRefusals(deps.db, refusals));

  /**
   * Claims units and allowance for a reservation, or says why not (refusals are thrown as problems).
   * A `repeat` (a keyed request seen before) always asks the database: it may have been admitted
   * already, which only the claim's statement knows.
   */
  const enter = async (input: ReservationInput, contact: ContactRow, holders: string[], via: 'direct' | 'line', repeat = false): Promise<Entry> => {
    if (via === 'direct' && !repeat && lineEngaged(input.productId)) return { kind: 'queue' };
    const claim = { reservationId: input.reservationId, productId: input.productId, quantity: input.quantity, leaseMs: policy.leaseMs, holders, via, maxInFlight: policy.maxInFlight };
    const remembered = repeat ? undefined : (soldOut.recall(input.productId) ?? soldOutSeen(input.productId, input.quantity));
    const admission = remembered ?? (await claims.execute(() => admit(deps.db, claim, contact)));
    soldOut.remember(admission);
    switch (admission.outcome) {
      case 'ADMITTED':
        return { kind: 'admitted', productName: admission.product.name };
      case 'QUEUE':
        return { kind: 'queue' };
      case 'HELD':
        return { kind: 'held' };
      case 'SOLD_OUT': {
        if (via === 'line' || !recorded(input.productId)) return { kind: 'sold-out', reservationId: null };
        // Refused without a workflow: the notifier's drain tells the customer (once per product).
        const row = { ...readModelRow(input, 1), workflowId: null, status: 'REJECTED' as const, rejectReason: 'OUT_OF_STOCK' };
        const notification = outboxEntry('REJECTED', { productName: admission.product.name, status: row.status, fulfilment: row.fulfilment });
        return { kind: 'sold-out', reservationId: await recordRefusal({ row, contact, notification }) };
      }
      default:
        throw refusalOf(admission, input.productId);
    }
  };

  /** Starts the workflow (or joins it, for a repeat) and waits for its stock decision. */
  const decide = async (input: ReservationInput, productName: string | undefined, joinExisting: boolean, log: Logger): Promise<ReservationView | undefined> => {
    const { reservationId } = input;
    const workflowId = reservationWorkflowId(reservationId);
    const product = productName ?? (await findProduct(deps.db, input.productId))?.name ?? `product ${input.productId}`;
    const start = new WithStartWorkflowOperation<typeof reservationWorkflow>(WORKFLOW_TYPE, {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [input],
      // A repeat (a keyed request, a ticket admitted again) joins the first one's workflow and update.
      workflowIdConflictPolicy: joinExisting ? 'USE_EXISTING' : 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: { product, quantity: input.quantity, fulfilment: input.fulfilment },
      // Shown at the top of the Web UI's workflow page; ids and product only, never contact data.
      staticSummary: `${product} ×${input.quantity} · ${input.fulfilment} · customer ${input.customerId}`,
      typedSearchAttributes: [
        { key: SearchAttributes.status, value: 'PENDING' },
        { key: SearchAttributes.productId, value: String(input.productId) },
        { key: SearchAttributes.customerId, value: input.customerId },
      ],
    });
    try {
      const state = await deps.temporal.withDeadline(Date.now() + (deps.decisionDeadlineMs ?? DECISION_DEADLINE_MS), async () => {
        try {
          return await deps.temporal.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation: start, updateId: 'reserve' });
        } catch (err) {
          if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) throw err;
        }
        // The server ends one long poll after about 20 s (no worker free, say): wait on, up to our deadline.
        return deps.temporal.workflow.getHandle(workflowId).getUpdateHandle<ReservationState>('reserve').result();
      });
      log.info('stock decision', { status: state.status, rejectReason: state.rejectReason });
    } catch (err) {
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        log.warn('stock decision still pending at the deadline', { error: err });
        throw new Problem(503, 'DECISION_PENDING', 'the stock decision is taking longer than usual and will still be made: repeat the request with the same Idempotency-Key, or read the reservation', {
          reservationId,
          workflowId,
        });
      }
      // A repeat that arrives after the workflow closed: the recorded decision answers it.
      if (!(joinExisting && err instanceof WorkflowExecutionAlreadyStartedError)) {
        log.warn('reserve did not complete', { error: err });
        throw err;
      }
    }
    return getReservationView(deps.db, reservationId);
  };

  /**
   * An admission whose workflow could not be started: its allowance goes back (unless a decision
   * counted it already; a decision that comes later finds it returned and takes nothing), and its
   * claim ends, so the unit is offered again at once instead of after the lease.
   */
  const abandon = async (reservationId: string) => {
    await deps.db.transaction().execute(async (trx) => {
      if (!(await returnUndecidedAllowance(trx, reservationId))) return;
      await sql`
        with released as (delete from stock_claims where reservation_id = ${reservationId} returning product_id, quantity)
        update products p set claimed = p.claimed - r.quantity from released r where p.id = r.product_id`.execute(trx);
    });
  };

  return { enter, decide, abandon, policy };
}

export type Reserver = ReturnType<typeof createReserver>;
