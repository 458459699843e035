/**
 * Units per customer and per phone number. Admission takes a reservation's units from each of its
 * holders' allowances (app/launch/admission.ts) and records the use; the use is given back,
 * exactly once, when the reservation ends without its unit (refused, cancelled, expired) or when its
 * admission is given up before any decision. A completed reservation keeps its unit, and so its use.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/schema.js';

/** A holder's key: the customer, and the number their messages go to (as a SHA-256 of its E.164 form). */
export const holderKeys = (customerId: string, phoneKey: string | null | undefined): string[] =>
  phoneKey ? [`customer:${customerId}`, `phone:${phoneKey}`] : [`customer:${customerId}`];

/**
 * Gives a reservation's units back to its holders, once (the use's `returned_at` is the guard);
 * `undecidedOnly`: only if no stock decision has been made for it. Returns whether it gave back.
 */
async function giveBack(db: Db, reservationId: string, undecidedOnly: boolean): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    with returned as (
      update allowance_uses set returned_at = now()
      where reservation_id = ${reservationId} and returned_at is null ${undecidedOnly ? sql`and decided_at is null` : sql``}
      returning product_id, holders, quantity
    ), given as (
      update allowances a set used = a.used - r.quantity from returned r
      where a.product_id = r.product_id and a.holder = any(r.holders)
      returning 1
    )
    select count(*)::int as n from returned`.execute(db);
  return (rows[0]?.n ?? 0) > 0;
}

/** The reservation ended without its unit: its holders may reserve again. */
export const returnAllowance = (db: Db, reservationId: string) => giveBack(db, reservationId, false);

/**
 * An admission given up before its decision (the workflow could not be started): the allowance goes
 * back unless a decision already counted it; a decision arriving later finds it returned and refuses.
 */
export const returnUndecidedAllowance = (db: Db, reservationId: string) => giveBack(db, reservationId, true);

/**
 * Allowances taken by admissions that no decision followed within `olderThanMs` (the API died
 * between the claim and the workflow's start): given back. Returns the reservations concerned.
 */
export async function returnOrphanedAllowances(db: Db, olderThanMs: number, limit = 500): Promise<string[]> {
  const orphans = await db
    .selectFrom('allowance_uses as u')
    .select('u.reservation_id')
    .where('u.decided_at', 'is', null)
    .where('u.returned_at', 'is', null)
    .where('u.created_at', '<', sql<Date>`now() - ${olderThanMs}::int * interval '1 millisecond'`)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('reservations as r').select('r.id').whereRef('r.id', '=', 'u.reservation_id'))))
    .limit(limit)
    .execute();
  const returned: string[] = [];
  for (const { reservation_id } of orphans) if (await returnUndecidedAllowance(db, reservation_id)) returned.push(reservation_id);
  return returned;
}
