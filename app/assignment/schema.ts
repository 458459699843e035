/**
 * The assignment service's own tables, in the PostgreSQL schema `assignment` (migration 0017),
 * which only its database role may use. Names are schema-qualified so that every query says
 * whose table it reads; nothing outside app/assignment/ has this type (test/unit/layout.test.ts).
 */
import type { ColumnType, Generated, Kysely, Selectable, Transaction } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

/** A store: a dealer store customers pick up from, or the central online store that delivers. */
interface StoreTable {
  id: string;
  name: string;
  district: string;
  address: string;
  latitude: number;
  longitude: number;
  capacity: number;
  /** Reservations currently assigned and not yet released or completed (never above capacity). */
  active_count: Generated<number>;
  is_open: Generated<boolean>;
  /** The central online store: the delivery fallback, never picked by distance. */
  is_central: Generated<boolean>;
  created_at: CreatedAt;
}

export type AssignmentStatus = 'ACTIVE' | 'RELEASED' | 'COMPLETED';

/** One row per assignment key (a reservation id, `~<round>` when re-driven); RELEASED rows are tombstones. */
interface AssignmentTable {
  reservation_id: string;
  store_id: string | null;
  status: AssignmentStatus;
  distance_km: number | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AssignmentDatabase {
  'assignment.stores': StoreTable;
  'assignment.assignments': AssignmentTable;
}

/** What the service's repository takes first: its database or an open transaction. */
export type AssignmentDb = Kysely<AssignmentDatabase> | Transaction<AssignmentDatabase>;

export type Store = Selectable<StoreTable>;
