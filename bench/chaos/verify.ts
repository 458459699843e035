/**
 * After the chaos run: every journey's reservation where its answers put it, no reservation that
 * no journey asked for, every invariant of the stock ledger and the store slots, and what the
 * lifecycle went through (fallbacks, re-drives, reminders, expiries) counted from the read model.
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
  // No duplicate: every reservation belongs to exactly one journey.
  const known = new Set(journeys.map((j) => j.id).filter(Boolean));
  const strays = [...rows.keys()].filter((id) => !known.has(id));
  if (strays.length > 0) violations.push(`${strays.length} reservation(s) no customer asked for: ${strays.slice(0, 5).join(', ')}`);
  violations.push(...(await checkInvariants(db)).violations);
  violations.push(...(await messagesOwed(db, productId)));

  const finalStates: Record<string, number> = {};
  for (const s of rows.values()) finalStates[s] = (finalStates[s] ?? 0) + 1;
  return { violations, finalStates, lifecycle: await lifecycleCounts(db, productId) };
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
