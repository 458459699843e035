/** The API's JSON shapes the app reads (api/schemas.ts, api/routes/*). */
import type { ReservationStatus } from './labels.js';

export type Role = 'customer' | 'store' | 'admin';
/** The app's languages (web/i18n.ts): Korean first. */
export type Lang = 'ko' | 'en';
export type Fulfilment = 'PICKUP' | 'DELIVERY';
export type Label = { ko: string; en: string };

export type SaleState = 'SCHEDULED' | 'OPEN' | 'PAUSED' | 'SOLD_OUT' | 'CLOSED';
/** How those who join before the opening are ordered: first-come, or a lottery drawn at the opening. */
export type LineOrder = 'FIFO' | 'LOTTERY';

export interface Product {
  id: number;
  sku: string;
  name: string;
  brand: string;
  priceKrw: number;
  availableStock: number;
  sale: { state: SaleState; opensAt: string | null; closesAt: string | null; unitLimit: number; order: LineOrder; waiting: number };
}

/** A product's sale as the desk sees it (`GET /products/{id}/sale`). */
export interface Sale {
  productId: number;
  state: SaleState;
  opensAt: string | null;
  closesAt: string | null;
  paused: boolean;
  unitLimit: number;
  order: LineOrder;
  /** Tickets let in per second as the desk set it; null: as fast as stock decisions complete. */
  admissionRate: number | null;
  queue: { issued: number; admitted: number; waiting: number; admittedPerSecond: number | null; lastInLineWaitSeconds: number | null; soldOutAt: string | null };
  lottery: { seedSha256: string | null; seed: string | null; drawnAt: string | null; drawn: number | null };
}

/** What the desk may change of a sale (`PATCH /products/{id}/sale`). */
export interface SalePatch {
  opensAt?: string | null;
  closesAt?: string | null;
  paused?: boolean;
  unitLimit?: number;
  order?: LineOrder;
  admissionRate?: number | null;
}

/** The lottery's public record (`GET /products/{id}/draw`). */
export interface Draw {
  productId: number;
  order: LineOrder;
  seedSha256: string | null;
  seed: string | null;
  drawnAt: string | null;
  algorithm: string;
  tickets: string[];
}

export type TicketStatus = 'WAITING' | 'ADMITTED' | 'RESERVED' | 'SOLD_OUT' | 'REFUSED' | 'LAPSED' | 'LEFT' | 'CLOSED';

/** A customer's place in a product's line (`GET /tickets/{id}`, `ticket` events). */
export interface Ticket {
  id: string;
  productId: number;
  status: TicketStatus;
  sale: { state: SaleState | 'UNKNOWN'; opensAt: string | null; order: LineOrder; unitsLeft: number | null };
  /** Null until a lottery is drawn, and once no longer waiting. */
  position: number | null;
  ahead: number | null;
  /** `soldOutLikely`: more people ahead than units left; `soldOutInSeconds`: when they are likely gone. */
  estimatedWait: { seconds: number; low: number; high: number; admittedPerSecond: number; soldOutLikely: boolean; soldOutInSeconds: number | null } | null;
  reservationId: string | null;
  refusal: string | null;
  joinedAt: string;
  /** When the ticket itself last changed. */
  updatedAt: string;
  leaseExpiresAt: string;
  /** When to ask again; null once it has ended. */
  pollAfterSeconds: number | null;
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

/** The launch's figures at one moment (the desk's charts); `accepted`: units taken so far. */
export interface Sample {
  at: string;
  stock: number;
  claimed: number;
  waiting: number;
  admitted: number;
  accepted: number;
}

export interface LaunchDesk {
  generatedAt: string;
  products: { id: number; name: string; stock: number; claimed: number; perMinute: number; counts: DeskCounts; sale: Sale; samples: Sample[] }[];
  stores: { id: string; name: string; district: string; isOpen: boolean; capacity: number; active: number; load: number }[];
  /** False while the assignment service is down (stores is then empty). */
  storesAvailable: boolean;
  breaker: { state: 'closed' | 'open' | 'half-open' | 'unknown'; detail: string | null };
}
