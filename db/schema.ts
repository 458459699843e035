/**
 * The application's tables as Kysely sees them (one interface per table), in the schema public.
 * Stores and their slots are the assignment service's (app/assignment/schema.ts), reached through its API.
 */
import type { ColumnType, Generated, Kysely, Selectable, Transaction } from 'kysely';
import type { Fulfilment, NotificationKind, ReservationStatus } from '../app/reservation/contract.js';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

interface ProductTable {
  id: Generated<number>;
  sku: string;
  name: string;
  brand: string;
  price_krw: number;
  stock: number;
  /** Units claimed by admitted requests whose stock decision is still in flight: the sum of their `stock_claims`. */
  claimed: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type StockMoveKind = 'INITIAL' | 'RESTOCK' | 'RESERVE' | 'RELEASE';

/** Every stock change, exactly once: `idempotency_key` is unique (e.g. `reserve:<reservationId>`). */
interface StockLedgerTable {
  id: Generated<string>;
  product_id: number;
  reservation_id: string | null;
  kind: StockMoveKind;
  delta: number;
  idempotency_key: string;
  created_at: CreatedAt;
}

/** Launch-day admission: one row per admitted request until its stock decision (or its lease) ends it. */
interface StockClaimTable {
  reservation_id: string;
  product_id: number;
  quantity: number;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  created_at: CreatedAt;
}

/** Outbox: customer notifications written with the state change they announce; sent by the notifier. */
interface NotificationTable {
  id: Generated<string>;
  reservation_id: string;
  kind: NotificationKind;
  /** The message as sent (the KakaoTalk text, and its English fallback); null until then. */
  message_ko: string | null;
  message_en: string | null;
  /** The facts the message is filled from, fixed when queued. */
  payload: ColumnType<Record<string, unknown>, string, string>;
  attempts: Generated<number>;
  created_at: CreatedAt;
  sent_at: Date | null;
  /** A notifier is delivering it until then (it was claimed outside any open transaction). */
  claimed_until: Date | null;
  template_code: string | null;
  /** `kakao`, or `sink` when no Kakao endpoint is configured (recorded, not sent). */
  channel: string | null;
  /** Exactly what was sent to the Kakao endpoint (or would have been). */
  request: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  /** Refused for good (no phone number, a template the endpoint rejects), with why. */
  failed_at: Date | null;
  error: string | null;
}

/** The customer-centre read model of a reservation (written by the workflow's activities). */
interface ReservationTable {
  id: string;
  /** Null when the product was sold out on arrival: refused at once, without a workflow. */
  workflow_id: string | null;
  product_id: number;
  quantity: number;
  customer_id: string;
  status: ReservationStatus;
  fulfilment: Fulfilment;
  store_id: string | null;
  store_name: string | null;
  store_distance_km: number | null;
  /** Copied from the assignment service with the store, as its name is: the customer centre never asks it. */
  store_address: string | null;
  hold_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  reject_reason: string | null;
  cancel_reason: string | null;
  /** The workflow's transition counter: a write with a lower version never lands. */
  version: number;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Personal data of a reservation, kept here so it never enters workflow history. */
interface ReservationContactTable {
  reservation_id: string;
  customer_id: string;
  name: string | null;
  phone: string | null;
  district: string | null;
  latitude: number | null;
  longitude: number | null;
  created_at: CreatedAt;
}

/** One row per status a reservation reached: its timeline. */
interface ReservationEventTable {
  id: Generated<string>;
  reservation_id: string;
  status: ReservationStatus;
  detail: string | null;
  created_at: CreatedAt;
}

/** One row per (scope, caller, Idempotency-Key): what the key was first used for. */
interface IdempotencyKeyTable {
  scope: string;
  principal: string;
  key: string;
  request_hash: string;
  resource_id: string;
  created_at: CreatedAt;
}

/** A bearer token an admin revoked, by its `jti`, until it would have expired anyway. */
interface RevokedTokenTable {
  jti: string;
  revoked_by: string;
  until: ColumnType<Date, Date | string, Date | string>;
  created_at: CreatedAt;
}

/** Who asked the API for a cancel or a hand-over, and why: kept out of workflow history. */
interface ReservationRequestTable {
  id: Generated<string>;
  reservation_id: string;
  action: 'cancel' | 'complete';
  requested_by: string;
  reason: string | null;
  created_at: CreatedAt;
}

/** A product's sale: when it opens, how its line admits, and the line's counters. */
interface SaleTable {
  product_id: number;
  opens_at: Date | null;
  closes_at: Date | null;
  paused: Generated<boolean>;
  /** Units one customer (and one phone number) may hold at once. */
  unit_limit: Generated<number>;
  queue_order: Generated<QueueOrder>;
  /** Tickets admitted per second, as the desk set it; null: as fast as decisions complete. */
  admission_rate: number | null;
  /** The lottery's seed: secret until the draw; its SHA-256 is published when the order is set. */
  seed: string | null;
  seed_sha256: string | null;
  drawn_at: Date | null;
  drawn_count: number | null;
  /** Tickets are numbered 1..issued as they join (bigint: pg returns it as a string). */
  issued: Generated<string>;
  /** Tickets 1..early_upto joined before the opening (a lottery orders them at the draw). */
  early_upto: Generated<string>;
  /** The watermark: every place at or below it has been passed (admitted, or skipped as gone). */
  admitted: Generated<string>;
  /** Tickets numbered at or below it that were still waiting when it sold out were told SOLD_OUT… */
  sold_out_upto: Generated<string>;
  /** …those whose place was above this watermark of the sell-out (the ones below had been let in). */
  sold_out_from: Generated<string>;
  sold_out_at: Date | null;
  /** The desk's admission rate as a bucket: tickets that may be admitted now, refilled at the rate. */
  credit: Generated<number>;
  credited_at: Date | null;
  updated_at: UpdatedAt;
}

export type QueueOrder = 'FIFO' | 'LOTTERY';
export type TicketState = 'WAITING' | 'ADMITTED' | 'RESERVED' | 'SOLD_OUT' | 'REFUSED' | 'LAPSED' | 'LEFT';

/** A customer's place in a product's line; its contact is kept until it ends (personal data). */
interface QueueTicketTable {
  id: string;
  product_id: number;
  /** The reservation it becomes when admitted (fixed at the join, so a retried admission is the same one). */
  reservation_id: string;
  seq: string;
  /** Its place in line; null for an early ticket of a lottery not drawn yet. */
  position: string | null;
  customer_id: string;
  /** SHA-256 of the customer's number in E.164: one live ticket per number. */
  phone_key: string | null;
  quantity: number;
  fulfilment: Fulfilment;
  name: string | null;
  phone: string | null;
  district: string | null;
  latitude: number | null;
  longitude: number | null;
  state: Generated<TicketState>;
  /** Why an admitted ticket got no unit (LIMIT_REACHED, OUT_OF_STOCK, …). */
  refusal: string | null;
  /** The lease: a ticket nobody kept alive past this leaves the line when its turn comes. */
  alive_until: ColumnType<Date, Date | string, Date | string>;
  joined_at: CreatedAt;
  admitted_at: Date | null;
  ended_at: Date | null;
  updated_at: UpdatedAt;
}

/** Units a customer or a phone number (`holder`) holds of a product; never above `cap`. */
interface AllowanceTable {
  product_id: number;
  holder: string;
  used: number;
  cap: number;
}

/** What one reservation took from its holders' allowances, until it ends without its unit. */
interface AllowanceUseTable {
  reservation_id: string;
  product_id: number;
  holders: string[];
  quantity: number;
  created_at: CreatedAt;
  decided_at: Date | null;
  returned_at: Date | null;
}

/** The one sold-out refusal a customer is told of per product. */
interface SoldOutRefusalTable {
  customer_id: string;
  product_id: number;
  reservation_id: string;
  created_at: CreatedAt;
}

/** The launch desk's charts: a product's figures every few seconds. */
interface SaleSampleTable {
  product_id: number;
  at: Date;
  stock: number;
  claimed: number;
  issued: string;
  admitted: string;
  waiting: string;
  /** Units taken by reservations so far. */
  accepted: string;
}

export interface Database {
  sales: SaleTable;
  queue_tickets: QueueTicketTable;
  allowances: AllowanceTable;
  allowance_uses: AllowanceUseTable;
  sold_out_refusals: SoldOutRefusalTable;
  sale_samples: SaleSampleTable;
  products: ProductTable;
  stock_ledger: StockLedgerTable;
  stock_claims: StockClaimTable;
  reservations: ReservationTable;
  reservation_contacts: ReservationContactTable;
  reservation_events: ReservationEventTable;
  notifications: NotificationTable;
  idempotency_keys: IdempotencyKeyTable;
  revoked_tokens: RevokedTokenTable;
  reservation_requests: ReservationRequestTable;
}

/** What repositories take first: the database or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

export type Product = Selectable<ProductTable>;
export type Reservation = Selectable<ReservationTable>;
export type StockLedgerEntry = Selectable<StockLedgerTable>;
export type Notification = Selectable<NotificationTable>;
export type Sale = Selectable<SaleTable>;
export type QueueTicket = Selectable<QueueTicketTable>;
