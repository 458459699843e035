/**
 * The reservation contract shared by the API, the worker and the workflow: ids, statuses, search
 * attributes and the signal/update/query definitions (the task queues are shared/queues.ts). Workflow-safe: it imports
 * nothing but definitions from the Temporal SDK.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';

/** Reservation ids are 12 Crockford base32 characters, readable over the phone. */
export const RESERVATION_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{12}$/;
const WORKFLOW_ID_PREFIX = 'reservation-';

export function reservationWorkflowId(reservationId: string): string {
  return `${WORKFLOW_ID_PREFIX}${reservationId}`;
}

/** The reservation a workflow id belongs to (`reservation-<id>`), if it is one. */
export function reservationIdOfWorkflow(workflowId: unknown): string | undefined {
  return typeof workflowId === 'string' && workflowId.startsWith(WORKFLOW_ID_PREFIX) ? workflowId.slice(WORKFLOW_ID_PREFIX.length) : undefined;
}

export {
  FULFILMENTS,
  isCancellable,
  NOTIFICATION_KINDS,
  RESERVATION_STATUSES,
  STATUS_LABELS,
  TERMINAL_STATUSES,
  type Fulfilment,
  type NotificationKind,
  type ReservationStatus,
} from './statuses.js';
import type { Fulfilment, ReservationStatus } from './statuses.js';

/** Custom search attributes; registered on the dev server and by the worker on any cluster. */
export const SearchAttributes = {
  status: defineSearchAttributeKey('ReservationStatus', 'KEYWORD'),
  productId: defineSearchAttributeKey('ProductId', 'KEYWORD'),
  customerId: defineSearchAttributeKey('CustomerId', 'KEYWORD'),
  storeId: defineSearchAttributeKey('StoreId', 'KEYWORD'),
} as const;

/** The central online store: the delivery fallback when no dealer store can take a reservation. */
export const CENTRAL_STORE = { id: 'central-online', name: 'Tshop 온라인 중앙센터', address: '서울 중구 을지로 65' } as const;

/** Time limits of one reservation, fixed when it starts (so a config change never rewrites history). */
export interface ReservationPolicy {
  /** After this long without a store, the reservation is confirmed for delivery from the central store. */
  assignmentDeadlineMs: number;
  /** A confirmed reservation not completed within this period expires. */
  holdPeriodMs: number;
  /** The customer is reminded this long before the hold period ends. */
  reminderBeforeMs: number;
}

/** Workflow input. No personal data: contact details and location stay in PostgreSQL. */
export interface ReservationInput {
  reservationId: string;
  productId: number;
  quantity: number;
  customerId: string;
  fulfilment: Fulfilment;
  policy: ReservationPolicy;
}

/** What a run of the notifier's drain settled: counts only, never the customer's contact. */
export interface DrainReport {
  delivered: number;
  failed: number;
  batches: number;
}

/**
 * The Python notifier's activity (notifier/activities.py), called by name on its task queue:
 * TypeScript keeps only its type.
 */
export interface NotifierActivities {
  /** Sends every pending message for `maxMs`, oldest first per reservation, woken by each one queued. */
  notifyPending(input: { maxMs?: number; idleMs?: number }): Promise<DrainReport>;
}

export interface CancelRequest {
  reason?: string;
  /**
   * The API's name for a keyed cancel (a hash of its Idempotency-Key, caller and body), so a repeat
   * whose first answer was lost finds its own cancel in the history. The workflow ignores it.
   */
  request?: string;
}

export interface ReassignRequest {
  /** Who asked (operator id), for the record. */
  by?: string;
}

/**
 * The assignment service's key for a reservation's n-th request for a store: the reservation id,
 * then `~2`, `~3` … for each re-drive, so a late call of an earlier round can never claim a slot.
 */
export function assignmentKey(reservationId: string, round = 1): string {
  return round > 1 ? `${reservationId}~${round}` : reservationId;
}

/** The reservation and round an assignment key names (the inverse of assignmentKey). */
export function parseAssignmentKey(key: string): { reservationId: string; round?: number } {
  const [reservationId, round] = key.split('~') as [string, string | undefined];
  return round ? { reservationId, round: Number(round) } : { reservationId };
}
export const ASSIGNMENT_KEY_PATTERN = /^[0-9A-HJKMNP-TV-Z]{12}(~[1-9][0-9]{0,2})?$/;

export interface CompleteRequest {
  /** Who handed the phone over (store staff id), for the record. */
  by?: string;
}

/**
 * The store a reservation is assigned to, as workflows and activities pass it. It is recorded in
 * workflow histories: once shipped, a rename has to be read under both names (docs/versioning.md).
 */
export interface AssignedStore {
  storeId: string;
  storeName: string;
  distanceKm: number | null;
  /** True when the deadline passed and the central store took it for delivery. */
  fallback: boolean;
}

/** What the workflow knows about itself; answered by the `state` query and the `reserve` update. */
export interface ReservationState {
  reservationId: string;
  status: ReservationStatus;
  productId: number;
  quantity: number;
  fulfilment: Fulfilment;
  store: AssignedStore | null;
  holdUntil: string | null;
  rejectReason: string | null;
  cancelReason: string | null;
  /** Transition counter; the read model never goes back to a lower version. */
  version: number;
  /** Signals that arrived when they could no longer change anything (kept for operators). */
  ignoredSignals: { name: string; status: ReservationStatus; reason: string | null }[];
}

/** Update-with-Start target: resolves once the synchronous stock decision is made. */
export const reserveUpdate = defineUpdate<ReservationState>('reserve');
/** Cancel the reservation at any stage; sent by the API, the Web UI or `temporal workflow signal`. */
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
/**
 * Re-drive a reservation that fell back to central delivery: ask the assignment service again and,
 * if a store takes it, move it there for pickup. Ignored in any other state.
 */
export const reassignSignal = defineSignal<[ReassignRequest?]>('reassign');
/** Store staff handed the phone over: ends the reservation COMPLETED (stock stays consumed). */
export const completeSignal = defineSignal<[CompleteRequest?]>('complete');
export const stateQuery = defineQuery<ReservationState>('state');
