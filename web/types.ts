/** The API's JSON shapes the app reads (api/schemas.ts, api/routes/*). */
import type { ReservationStatus } from './labels.js';

export type Role = 'customer' | 'store' | 'admin';
export type Fulfilment = 'PICKUP' | 'DELIVERY';
export type Label = { ko: string; en: string };

export interface Product {
  id: number;
  sku: string;
  name: string;
  brand: string;
  priceKrw: number;
  availableStock: number;
}

export interface Reservation {
  id: string;
  workflowId: string | null;
  status: ReservationStatus;
  statusLabel: Label;
  product: { id: number; sku: string; name: string };
  quantity: number;
  fulfilment: Fulfilment;
  store: { id: string; name: string; distanceKm: number | null; address?: string | null } | null;
  holdUntil: string | null;
  customerId: string;
  rejectReason: string | null;
  cancelReason: string | null;
  createdAt: string;
  updatedAt: string;
  events: { status: ReservationStatus; label: Label; at: string; detail: string | null }[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type NotificationKind = 'ACCEPTED' | 'REJECTED' | 'CONFIRMED' | 'REASSIGNED' | 'REMINDER' | 'COMPLETED' | 'CANCELLED' | 'EXPIRED';

export interface Notification {
  id: string;
  kind: NotificationKind;
  status: 'QUEUED' | 'SENT' | 'FAILED';
  channel: 'kakao' | 'sink' | null;
  templateCode: string | null;
  message: Label | null;
  createdAt: string;
  sentAt: string | null;
  failedAt: string | null;
  error: string | null;
  attempts: number;
}

export interface Identities {
  customers: { sub: string; name: string; phone: string; district: string }[];
  stores: { id: string; name: string }[];
  admin: { sub: string };
}

export interface LoginAnswer {
  token: string;
  role: Role;
  sub: string;
  store?: string;
  expiresAt?: string;
}

/** Reservations by status; a status with none is left out. */
export type DeskCounts = Partial<Record<ReservationStatus, number>>;

export interface LaunchDesk {
  generatedAt: string;
  products: { id: number; name: string; stock: number; claimed: number; perMinute: number; counts: DeskCounts }[];
  stores: { id: string; name: string; district: string; isOpen: boolean; capacity: number; active: number; load: number }[];
  breaker: { state: 'closed' | 'open' | 'half-open' | 'unknown'; detail: string | null };
}
