/**
 * A reservation as the API shows it (the `Reservation` schema of api/schemas.ts), from its read-model
 * row: the one mapping the reservation routes, the event stream and anything else that answers with
 * a reservation use.
 */
import { STATUS_LABELS } from './statuses.js';
import type { getReservationView, listReservations, PagePosition } from './repository.js';

/** A reservation with its timeline, as `getReservationView` reads it. */
export type ReservationView = NonNullable<Awaited<ReturnType<typeof getReservationView>>>;
/** A reservation as a list reads it (no timeline). */
export type ReservationRow = Omit<Awaited<ReturnType<typeof listReservations>>['items'][number], 'created_micros'>;

export function toReservationDto(v: ReservationRow & { events?: ReservationView['events'] }) {
  return {
    id: v.id,
    workflowId: v.workflow_id,
    status: v.status,
    statusLabel: STATUS_LABELS[v.status],
    product: { id: v.product_id, sku: v.product_sku, name: v.product_name },
    quantity: v.quantity,
    fulfilment: v.fulfilment,
    store: v.store_id ? { id: v.store_id, name: v.store_name ?? v.store_id, distanceKm: v.store_distance_km, address: v.store_address } : null,
    holdUntil: v.hold_until?.toISOString() ?? null,
    customerId: v.customer_id,
    rejectReason: v.reject_reason,
    cancelReason: v.cancel_reason,
    createdAt: v.created_at.toISOString(),
    updatedAt: v.updated_at.toISOString(),
    events: (v.events ?? []).map((e) => ({
      status: e.status,
      label: STATUS_LABELS[e.status],
      at: e.created_at.toISOString(),
      detail: e.detail,
    })),
  };
}

export type ReservationDto = ReturnType<typeof toReservationDto>;

/**
 * A list's cursor, opaque to clients: `<microseconds since the epoch>.<reservation id>`, a position
 * in the newest-first order. Every string the contract's pattern admits is one (the page after it),
 * so no cursor is refused.
 */
export function encodeCursor(k: PagePosition): string {
  return `${k.createdMicros}.${k.id}`;
}

export function decodeCursor(cursor: string): PagePosition {
  const [createdMicros, id] = cursor.split('.') as [string, string];
  return { createdMicros, id };
}
