/**
 * What a launch left behind, read from the database, Temporal and the API's public draw record: the
 * units taken and the workflows started, whether the line kept its order, whether the lottery can be
 * recomputed from what was published, whether anyone holds more than the limit, and how the
 * estimated waits compared with the waits.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { waitUntil } from '../../platform/process.js';
import type { Ctx } from '../context.js';
import { spread } from '../load.js';
import type { Fate } from './launch-crowd.js';

export interface ProductFigures {
  /** Reservations of the product that were not REJECTED: the units taken. */
  accepted: number;
  /** REJECTED reservations: customers refused on arrival once it was sold out (no workflow). */
  rejected: number;
  /** Reservations with a workflow id. */
  workflows: number;
  unitLimit: number;
  /** The last RESERVE row of the product's stock ledger, and the sale's sold_out_at (epoch ms). */
  lastUnitAt: number | null;
  soldOutAt: number | null;
}

export async function productFigures(ctx: Ctx, productId: number): Promise<ProductFigures> {
  const { rows } = await sql<{ accepted: number; rejected: number; workflows: number; unit_limit: number; last_unit: Date | null; sold_out_at: Date | null }>`
    select
      (select count(*)::int from reservations where product_id = ${productId} and status <> 'REJECTED') as accepted,
      (select count(*)::int from reservations where product_id = ${productId} and status = 'REJECTED') as rejected,
      (select count(*)::int from reservations where product_id = ${productId} and workflow_id is not null) as workflows,
      (select max(created_at) from stock_ledger where product_id = ${productId} and kind = 'RESERVE') as last_unit,
      s.unit_limit, s.sold_out_at
    from sales s where s.product_id = ${productId}`.execute(ctx.db);
  const r = rows[0]!;
  return { accepted: r.accepted, rejected: r.rejected, workflows: r.workflows, unitLimit: r.unit_limit, lastUnitAt: r.last_unit?.getTime() ?? null, soldOutAt: r.sold_out_at?.getTime() ?? null };
}

/** Temporal's own count of the product's workflows (ProductId search attribute), once visibility has caught up with `expected`. */
export async function temporalWorkflows(ctx: Ctx, productId: number, expected: number): Promise<number> {
  const query = `ProductId="${productId}"`;
  let count = 0;
  await waitUntil(async () => {
    count = Number((await ctx.client.workflow.count(query)).count);
    return count >= expected;
  }, 30_000, 250);
  return count;
}

/**
 * Tickets admitted while an earlier place in line (a lower position) was still waiting: admitted
 * later, or never admitted while its row still says WAITING (passed over). Lapsed, left and refused
 * places were not waiting.
 */
export async function admittedOutOfOrder(ctx: Ctx, productId: number): Promise<{ admitted: number; outOfOrder: number }> {
  const { rows } = await sql<{ admitted: number; out_of_order: number }>`
    select count(*) filter (where admitted_at is not null)::int as admitted,
      count(*) filter (where admitted_at < latest_before)::int as out_of_order
    from (
      select admitted_at,
        max(case when admitted_at is not null then admitted_at when state = 'WAITING' then 'infinity'::timestamptz end)
          over (order by position rows between unbounded preceding and 1 preceding) as latest_before
      from queue_tickets where product_id = ${productId} and position is not null
    ) t`.execute(ctx.db);
  return { admitted: rows[0]!.admitted, outOfOrder: rows[0]!.out_of_order };
}

export interface DrawCheck {
  drawn: number;
  /** Early tickets (joined before the opening) given a place by the draw, as stored. */
  early_placed: number;
  seed_matches_digest: boolean;
  /** The digest the draw shows is the one published when the lottery was set, before anyone joined. */
  digest_published_before_joins: boolean;
  /** Places where the published order differs from the order recomputed from seed and tickets. */
  published_order_mismatches: number;
  /** Early tickets whose stored position differs from the recomputed place (or that are missing from the draw). */
  stored_position_mismatches: number;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Recomputes the lottery from GET /products/{id}/draw and compares it with what was published and stored. */
export async function checkDraw(ctx: Ctx, productId: number, digestAtSetting: string | null): Promise<DrawCheck> {
  const answer = await ctx.api.admin('GET', `/products/${productId}/draw`);
  if (answer.status !== 200) throw new Error(`GET /products/${productId}/draw answered ${answer.status}`);
  const draw = answer.body as { seed: string | null; seedSha256: string | null; tickets: string[] };
  const seed = draw.seed ?? '';
  const key = new Map(draw.tickets.map((id) => [id, sha256(`${seed}:${id}`)]));
  const recomputed = [...draw.tickets].sort((a, b) => (key.get(a)! < key.get(b)! ? -1 : key.get(a)! > key.get(b)! ? 1 : a < b ? -1 : 1));
  const { rows } = await sql<{ id: string; position: string }>`
    select t.id, t.position from queue_tickets t join sales s on s.product_id = t.product_id
    where t.product_id = ${productId} and t.seq <= s.early_upto and t.position is not null`.execute(ctx.db);
  const stored = new Map(rows.map((r) => [r.id, Number(r.position)]));
  const placedElsewhere = rows.filter((r) => !key.has(r.id)).length;
  return {
    drawn: draw.tickets.length,
    early_placed: rows.length,
    seed_matches_digest: draw.seed !== null && sha256(seed) === draw.seedSha256,
    digest_published_before_joins: digestAtSetting !== null && draw.seedSha256 === digestAtSetting,
    published_order_mismatches: recomputed.filter((id, n) => draw.tickets[n] !== id).length,
    stored_position_mismatches: recomputed.filter((id, n) => stored.get(id) !== n + 1).length + placedElsewhere,
  };
}

/** Customers and phone numbers holding more of the product than the sale's limit. */
export async function overLimit(ctx: Ctx, productId: number, unitLimit: number): Promise<{ customers: number; phones: number }> {
  const { rows } = await sql<{ customers: number; phones: number }>`
    with held as (
      select r.customer_id, c.phone, r.quantity from reservations r
      left join reservation_contacts c on c.reservation_id = r.id
      where r.product_id = ${productId} and r.status <> 'REJECTED'
    )
    select
      (select count(*)::int from (select 1 from held group by customer_id having sum(quantity) > ${unitLimit}) x) as customers,
      (select count(*)::int from (select 1 from held where phone is not null group by phone having sum(quantity) > ${unitLimit}) y) as phones`.execute(ctx.db);
  return rows[0]!;
}

export interface EstimateAccuracy {
  /** Customers shown an estimated wait at least once while waiting. */
  shown: number;
  /** Those whose turn came (their ticket was admitted): the first estimate against the time from then to the admission. */
  turn_came: { n: number; median_estimated_s: number; median_waited_s: number; median_error_s: number; within_range: number };
  /** Those told SOLD_OUT instead (the estimate counts places, not units): the first estimate against the time to that answer. */
  sold_out_instead: { n: number; median_estimated_s: number; median_told_after_s: number };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const median = (xs: number[]) => round1(spread(xs).median);

/** The first estimate each customer was shown against what came, and when. */
export async function estimateAccuracy(ctx: Ctx, productId: number, fates: Fate[]): Promise<EstimateAccuracy> {
  const rows = await ctx.db.selectFrom('queue_tickets').select(['id', 'admitted_at']).where('product_id', '=', productId).where('admitted_at', 'is not', null).execute();
  const admittedAt = new Map(rows.map((r) => [r.id, r.admitted_at!.getTime()]));
  const shown = fates.filter((f) => f.estimate).map((f) => ({ fate: f, e: f.estimate! }));
  const came = shown.filter((x) => admittedAt.has(x.e.ticketId)).map((x) => ({ e: x.e, waited: (admittedAt.get(x.e.ticketId)! - x.e.at) / 1000 }));
  const soldOut = shown.filter((x) => x.fate.toldSoldOutAt !== undefined && !admittedAt.has(x.e.ticketId));
  // Estimates are whole seconds: a wait within a second of the range shown counts as within it.
  const within = came.filter((p) => p.waited >= p.e.low - 1 && p.waited <= p.e.high + 1).length;
  return {
    shown: shown.length,
    turn_came: {
      n: came.length,
      median_estimated_s: median(came.map((p) => p.e.seconds)),
      median_waited_s: median(came.map((p) => p.waited)),
      median_error_s: median(came.map((p) => Math.abs(p.waited - p.e.seconds))),
      within_range: came.length ? Math.round((100 * within) / came.length) / 100 : NaN,
    },
    sold_out_instead: {
      n: soldOut.length,
      median_estimated_s: median(soldOut.map((x) => x.e.seconds)),
      median_told_after_s: median(soldOut.map((x) => (x.fate.toldSoldOutAt! - x.e.at) / 1000)),
    },
  };
}
