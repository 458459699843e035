/** The application's tables as Kysely sees them (one interface per table). */
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { ReservationStatus } from '../shared/contract.js';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ProductTable {
  id: Generated<number>;
  sku: string;
  name: string;
  brand: string;
  price_krw: number;
  stock: number;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type StockMoveKind = 'INITIAL' | 'RESTOCK' | 'RESERVE' | 'RELEASE';

/** Every stock change, exactly once: `idempotency_key` is unique (e.g. `reserve:<reservationId>`). */
export interface StockLedgerTable {
  id: Generated<string>;
  product_id: number;
  reservation_id: string | null;
  kind: StockMoveKind;
  delta: number;
  idempotency_key: string;
  created_at: CreatedAt;
}

export interface AgencyTable {
  id: string;
  name: string;
  district: string;
  address: string;
  latitude: number;
  longitude: number;
  capacity: number;
  is_open: Generated<boolean>;
  created_at: CreatedAt;
}

/** The customer-centre read model of a reservation (written by the workflow's activities). */
export interface ReservationTable {
  id: string;
  workflow_id: string;
  product_id: number;
  quantity: number;
  customer_id: string;
  status: ReservationStatus;
  reject_reason: string | null;
  cancel_reason: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Personal data of a reservation, kept here so it never enters workflow history. */
export interface ReservationContactTable {
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
export interface ReservationEventTable {
  id: Generated<string>;
  reservation_id: string;
  status: ReservationStatus;
  detail: string | null;
  created_at: CreatedAt;
}

export interface Database {
  products: ProductTable;
  stock_ledger: StockLedgerTable;
  agencies: AgencyTable;
  reservations: ReservationTable;
  reservation_contacts: ReservationContactTable;
  reservation_events: ReservationEventTable;
}

/** What repositories take first: the database or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

export type Product = Selectable<ProductTable>;
export type NewProduct = Insertable<ProductTable>;
export type Agency = Selectable<AgencyTable>;
export type NewAgency = Insertable<AgencyTable>;
export type Reservation = Selectable<ReservationTable>;
export type StockLedgerEntry = Selectable<StockLedgerTable>;
