/**
 * After the chaos run: every journey's reservation where its answers put it, every place in line
 * ended as its journey was told (RESERVED: the reservation it named; SOLD_OUT: a refusal with no
 * reservation, or only a refused one), no reservation that no journey asked for, every invariant of
 * the stock ledger and the store slots, and what the lifecycle went through (fallbacks, re-drives,
 * reminders, expiries) counted from the read model.
 */
import { sql, type Kysely } from 'kysely';
import { checkInvariants } from '../../db/invariants.js';
import type { Database } from '../../db/schema.js';
import type { Journey } from './journeys.js';

export interface Verdict {
  violations: string[];
  finalStates: Record<string, number>;
  lifecycle: { centralFallbacks: number; reassignedToStore: number; reminders: number };
}

/**
 * Waits until no reservation of the product is still on its way and none of its customers' messages
 * is still queued; false if some are after `timeoutMs`.
 */
export async function settle(db: Kysely<Database>, productId: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await sql<{ n: string }>`
      select (select count(*) from reservations where product_id = ${productId} and status in ('PENDING', 'ACCEPTED', 'CONFIRMED', 'CANCEL_REQUESTED'))
        + (select count(*) from notifications n join reservations r on r.id = n.reservation_id
           where r.product_id = ${productId} and n.sent_at is null and n.failed_at is null) as n`
      .execute(db)
      .then((r) => r.rows[0]!)
      .catch(() => ({ n: '1' }));
    if (Number(open.n) === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

export async function verify(db: Kysely<Database>, productId: number, journeys: Journey[]): Promise<Verdict> {
  const violations: string[] = [];
  const rows = new Map(
    (await db.selectFrom('reservations').select(['id', 'status']).where('product_id', '=', productId).execute()).map((r) => [r.id, r.status as string]),
  );
  for (const j of journeys) {
    if (j.failure) violations.push(`journey ${j.key} (${j.fate}${j.id ? `, reservation ${j.id}` : ''}): ${j.failure}`);
    if (!j.id || !j.expected) continue;
    const status = rows.get(j.id);
    if (status === j.expected) continue;
    const handedOver = j.handedOver ? `; hand-over answered 202 at ${j.handedOver.at}, hold until ${String(j.handedOver.holdUntil)}` : '';
    violations.push(`reservation ${j.id} (${j.fate}, reserve answered ${j.reserve}${handedOver}) is ${status ?? 'missing'}, not ${j.expected}`);
  }
  // A SOLD_OUT place's own reservation id (fixed when it was issued) may name a refused reservation.
  const refusedPlaces = await checkTickets(db, journeys, rows, violations);
  // No duplicate: every reservation belongs to exactly one journey.
  const known = new Set([...journeys.map((j) => j.id).filter(Boolean), ...refusedPlaces]);
  const strays = [...rows.keys()].filter((id) => !known.has(id));
  if (strays.length > 0) violations.push(`${strays.length} reservation(s) no customer asked for: ${strays.slice(0, 5).join(', ')}`);
  violations.push(...(await checkInvariants(db)).violations);
  violations.push(...(await messagesOwed(db, productId)));

  const finalStates: Record<string, number> = {};
  for (const s of rows.values()) finalStates[s] = (finalStates[s] ?? 0) + 1;
  return { violations, finalStates, lifecycle: await lifecycleCounts(db, productId) };
}

/**
 * Every place in line a journey followed to its end, against its row: the state the journey was
 * told (a SOLD_OUT place may still read WAITING in its row when the sell-out's watermark passed it:
 * nothing is written to a waiting ticket), RESERVED naming the reservation the journey went on
 * with, and SOLD_OUT with no reservation, or a REJECTED one (a decision made, then refused). Returns
 * the reservation ids of the SOLD_OUT places.
 */
async function checkTickets(db: Kysely<Database>, journeys: Journey[], rows: Map<string, string>, violations: string[]): Promise<string[]> {
  const followed = journeys.filter((j) => j.ticket?.ended !== undefined);
  if (followed.length === 0) return [];
  const { rows: tickets } = await sql<{ id: string; state: string; reservation_id: string; passed_by_sell_out: boolean }>`
    select t.id, t.state, t.reservation_id,
      (t.state = 'WAITING' and t.seq <= s.sold_out_upto and (t.position is null or t.position > s.sold_out_from)) as passed_by_sell_out
    from queue_tickets t join sales s on s.product_id = t.product_id
    where t.id = any(${followed.map((j) => j.ticket!.id)}::text[])`.execute(db);
  const byId = new Map(tickets.map((t) => [t.id, t]));
  const refused: string[] = [];
  for (const j of followed) {
    const { id, ended } = j.ticket!;
    const t = byId.get(id);
    if (!t) {
      violations.push(`journey ${j.key}: ticket ${id} (told ${ended}) does not exist`);
      continue;
    }
    const state = t.passed_by_sell_out ? 'SOLD_OUT' : t.state;
    if (state !== ended) violations.push(`ticket ${id} (${j.fate}) is ${state}${state === t.state ? '' : ` (its row ${t.state}, passed by the sell-out)`}, but its journey was told ${ended}`);
    if (ended === 'RESERVED' && t.reservation_id !== j.id) violations.push(`ticket ${id} is reservation ${t.reservation_id}, but its journey was told ${j.id}`);
    if (ended === 'SOLD_OUT') {
      const status = rows.get(t.reservation_id);
      if (status !== undefined && status !== 'REJECTED') violations.push(`ticket ${id} ended SOLD_OUT, but its reservation ${t.reservation_id} is ${status}`);
      refused.push(t.reservation_id);
    }
  }
  return refused;
}

/**
 * The customers' messages: every one settled (none still queued once the run has settled), and
 * each customer's sent in the order their changes happened.
 */
async function messagesOwed(db: Kysely<Database>, productId: number): Promise<string[]> {
  const { rows } = await sql<{ reservation_id: string; queued: string; out_of_order: boolean }>`
    select n.reservation_id,
      count(*) filter (where n.sent_at is null and n.failed_at is null) as queued,
      bool_or(n.sent_at < (select max(e.sent_at) from notifications e where e.reservation_id = n.reservation_id and e.id < n.id)) as out_of_order
    from notifications n join reservations r on r.id = n.reservation_id
    where r.product_id = ${productId}
    group by n.reservation_id
    having count(*) filter (where n.sent_at is null and n.failed_at is null) > 0
      or bool_or(n.sent_at < (select max(e.sent_at) from notifications e where e.reservation_id = n.reservation_id and e.id < n.id))`.execute(db);
  return rows.map((r) => `reservation ${r.reservation_id}: ${Number(r.queued) > 0 ? `${r.queued} message(s) never sent` : 'messages sent out of order'}`);
}

async function lifecycleCounts(db: Kysely<Database>, productId: number) {
  const { rows } = await sql<{ fallbacks: string; reassigned: string; reminders: string }>`
    select
      (select count(distinct e.reservation_id) from reservation_events e join reservations r on r.id = e.reservation_id
        where r.product_id = ${productId} and e.detail like 'assignment deadline passed%') as fallbacks,
      (select count(distinct n.reservation_id) from notifications n join reservations r on r.id = n.reservation_id
        where r.product_id = ${productId} and n.kind = 'REASSIGNED') as reassigned,
      (select count(*) from notifications n join reservations r on r.id = n.reservation_id
        where r.product_id = ${productId} and n.kind = 'REMINDER') as reminders`.execute(db);
  const row = rows[0]!;
  return { centralFallbacks: Number(row.fallbacks), reassignedToStore: Number(row.reassigned), reminders: Number(row.reminders) };
}
