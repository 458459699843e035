/**
 * The invariants every run must end with; used by tests, the benchmark and the chaos run. It reads
 * both schemas (the application's and the assignment service's), so it runs with the owner's URL.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { TERMINAL_STATUSES } from '../app/reservation/contract.js';

export interface InvariantReport {
  ok: boolean;
  violations: string[];
}

export interface InvariantOptions {
  /** How long a finished reservation's store slot may still be ACTIVE (its release is retried until the assignment service answers). */
  slotGraceMs: number;
}

export async function checkInvariants(db: Kysely<Database>, options: InvariantOptions = { slotGraceMs: 30_000 }): Promise<InvariantReport> {
  const violations: string[] = [];

  // Stock is the sum of its moves (initial + restocks − reserved + released), never negative.
  const stock = await sql<{ id: number; stock: number; ledger: string | null }>`
    select p.id, p.stock, (select sum(delta) from stock_ledger l where l.product_id = p.id) as ledger
    from products p`.execute(db);
  for (const p of stock.rows) {
    if (p.stock < 0) violations.push(`product ${p.id}: stock ${p.stock} is negative`);
    if (Number(p.ledger ?? 0) !== p.stock) violations.push(`product ${p.id}: stock ${p.stock} but ledger sums to ${p.ledger ?? 0}`);
  }

  // A product's claimed units are exactly its admission claims.
  const claims = await sql<{ id: number; claimed: number; claims: string | null }>`
    select p.id, p.claimed, (select sum(quantity) from stock_claims c where c.product_id = p.id) as claims
    from products p where p.claimed <> coalesce((select sum(quantity) from stock_claims c where c.product_id = p.id), 0)`.execute(db);
  for (const p of claims.rows) violations.push(`product ${p.id}: ${p.claimed} units claimed but its claims hold ${p.claims ?? 0}`);

  // One RESERVE per reservation that took stock, at most one RELEASE, never a release without it.
  const moves = await sql<{ reservation_id: string; reserves: string; releases: string }>`
    select reservation_id, count(*) filter (where kind = 'RESERVE') as reserves, count(*) filter (where kind = 'RELEASE') as releases
    from stock_ledger where reservation_id is not null group by reservation_id
    having count(*) filter (where kind = 'RESERVE') <> 1 or count(*) filter (where kind = 'RELEASE') > 1`.execute(db);
  for (const m of moves.rows) violations.push(`reservation ${m.reservation_id}: ${m.reserves} reserve and ${m.releases} release moves`);

  // Accepted reservations hold stock exactly while they are live; rejected ones never did.
  const mismatched = await sql<{ id: string; status: string; taken: boolean; released: boolean }>`
    select r.id, r.status,
      exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RESERVE') as taken,
      exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RELEASE') as released
    from reservations r
    where (r.status = 'REJECTED' and exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RESERVE'
                                              and not exists (select 1 from stock_ledger k where k.reservation_id = r.id and k.kind = 'RELEASE')))
       or (r.status in ('ACCEPTED', 'CONFIRMED', 'COMPLETED') and (not exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RESERVE')
                                              or exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RELEASE')))
       or (r.status in ('CANCELLED', 'EXPIRED') and exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RESERVE')
                                              and not exists (select 1 from stock_ledger l where l.reservation_id = r.id and l.kind = 'RELEASE'))`.execute(db);
  for (const r of mismatched.rows) violations.push(`reservation ${r.id} is ${r.status} but stock taken=${r.taken} released=${r.released}`);

  // A stock move of a reservation belongs to one the read model knows.
  const strays = await sql<{ id: string; reservation_id: string }>`
    select l.id, l.reservation_id from stock_ledger l
    where l.reservation_id is not null and not exists (select 1 from reservations r where r.id = l.reservation_id)`.execute(db);
  for (const l of strays.rows) violations.push(`stock move ${l.id} belongs to reservation ${l.reservation_id}, which does not exist`);

  // Every holder's allowance is exactly the units of its uses not given back, and no use of a
  // reservation that ended without its unit is still held (beyond its decision still on its way).
  // Set-based (each use's holders unnested once): a subquery per allowance scanned every use, and
  // timed out after a 30-minute chaos run's 14,000 customers.
  const allowances = await sql<{ product_id: number; holder: string; used: number; held: string | null }>`
    with held as (
      select u.product_id, h.holder, sum(u.quantity) as held
      from allowance_uses u cross join lateral unnest(u.holders) as h(holder)
      where u.returned_at is null
      group by u.product_id, h.holder)
    select a.product_id, a.holder, a.used, held.held
    from allowances a left join held on held.product_id = a.product_id and held.holder = a.holder
    where a.used <> coalesce(held.held, 0)`.execute(db);
  for (const a of allowances.rows) violations.push(`product ${a.product_id}: ${a.holder} uses ${a.used} units but its reservations hold ${a.held ?? 0}`);
  const unreturned = await sql<{ reservation_id: string; product_id: number; status: string }>`
    select u.reservation_id, u.product_id, r.status from allowance_uses u join reservations r on r.id = u.reservation_id
    where u.returned_at is null and r.status in ('REJECTED', 'CANCELLED', 'EXPIRED')`.execute(db);
  for (const u of unreturned.rows) violations.push(`product ${u.product_id}: reservation ${u.reservation_id} is ${u.status} but still holds its allowance`);

  // A line's watermark never passes a place still waiting to be let in.
  const skipped = await sql<{ id: string; product_id: number }>`
    select t.id, t.product_id from queue_tickets t join sales s on s.product_id = t.product_id
    where t.state = 'WAITING' and t.position <= s.admitted
      and not (t.seq <= s.sold_out_upto and t.position > s.sold_out_from)`.execute(db);
  for (const t of skipped.rows) violations.push(`product ${t.product_id}: ticket ${t.id} waits behind the watermark`);

  // A finished reservation holds no store slot (beyond a release still on its way).
  // A checking tool for tests, the bench and the chaos run, run with the owner's URL: it alone reads
  // both schemas, the application's and the assignment service's, to compare them.
  const slots = await sql<{ key: string; status: string }>`
    select a.reservation_id as key, r.status from assignment.assignments a
    join reservations r on r.id = split_part(a.reservation_id, '~', 1)
    where a.status = 'ACTIVE' and r.status in (${sql.join([...TERMINAL_STATUSES])})
      and r.updated_at < now() - make_interval(secs => ${options.slotGraceMs / 1000})`.execute(db);
  for (const a of slots.rows) violations.push(`assignment ${a.key} is ACTIVE but its reservation is ${a.status}`);

  // No store above capacity, and its load is exactly its active assignments.
  const stores = await sql<{ id: string; capacity: number; active_count: number; active: string }>`
    select s.id, s.capacity, s.active_count,
      (select count(*) from assignment.assignments a where a.store_id = s.id and a.status = 'ACTIVE') as active
    from assignment.stores s`.execute(db);
  for (const s of stores.rows) {
    if (s.active_count > s.capacity) violations.push(`store ${s.id}: ${s.active_count} active above capacity ${s.capacity}`);
    if (Number(s.active) !== s.active_count) violations.push(`store ${s.id}: load ${s.active_count} but ${s.active} active assignments`);
  }
  return { ok: violations.length === 0, violations };
}
