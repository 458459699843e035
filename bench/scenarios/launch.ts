/**
 * Launch day: N customers, each with its own verified identity (its own phone number), join a
 * product's line around its opening, for 1 % of N units. A share joins before the opening
 * (POST /products/{id}/tickets), the rest after it (POST /reservations: a place
 * in line, or an answer at once when nobody waits); a few hundred also send 5 duplicate joins at the
 * same moment. Every customer follows its ticket with GET /tickets/{id} after each Retry-After
 * until it ends (launch-crowd.ts). Measured: the units taken and the workflows started, the join
 * latency, the order of admission (FIFO) or the recomputed draw (LOTTERY), how soon after the last
 * unit the sale and every waiting customer knew it was sold out, the CPU of the system per customer
 * who got no unit, the limit per customer, and the estimated waits shown against the waits.
 */
import { sql } from 'kysely';
import { newReservationId } from '../../platform/ids.js';
import { normalizePhone } from '../../platform/phone.js';
import { SEOUL_DISTRICTS } from '../../shared/districts.js';
import { waitForCount, waitForOutbox, waitUntilSettled, type Ctx } from '../context.js';
import { sleep, summarize, type LatencySummary } from '../load.js';
import { cpuMsBetween, cpuTicks, type Ticks } from '../procfs.js';
import { pollCost, type PollCost } from './launch-polls.js';
import { createCrowd, scheduleArrivals, type Crowd, type Customer, type Fate, type Join } from './launch-crowd.js';
import { admittedOutOfOrder, checkDraw, estimateAccuracy, overLimit, productFigures, temporalWorkflows, type DrawCheck, type EstimateAccuracy, type ProductFigures } from './launch-checks.js';

export type LaunchOrder = 'FIFO' | 'LOTTERY';

export interface LaunchOptions {
  order: LaunchOrder;
  customers: number;
  /** Customers arriving per second, before the opening and after it alike. */
  ratePerSecond: number;
}

/** Arrivals per second unless --launch-rate says otherwise (bench/README.md: why this many). */
export const DEFAULT_RATE_PER_S = 100;
/**
 * Who joins before the opening: 30 % of the customers, at most 3,000. Before the opening a ticket
 * asks again at the opening (spread over 2 s), so every early joiner asks within 3 s of it: 3,000
 * make about 1,000 polls a second then, about what 2 cores carry next to the joins and the draw.
 */
export const EARLY = { share: 0.3, most: 3_000 };
export const earlyJoiners = (customers: number) => Math.min(EARLY.most, Math.round(customers * EARLY.share));
/** Customers who also send duplicates (a few hundred, at most 3 % of N), and how many each sends. */
const DUPLICATING = { most: 300, share: 0.03, each: 5 };
/** From the last early join to the opening, and from the opening to the first join after it. */
const GAP_MS = 1_000;
const AFTER_OPENING_MS = 100;
/** How long customers may still be following after the last arrival before the run gives up on them. */
const FOLLOW_LIMIT_MS = 5 * 60_000;
/** The system's processes (the load generator, the memory sampler and the infra launcher are not). */
export const SYSTEM_TREES = ['api', 'worker', 'assignment', 'notifier', 'temporal', 'postgres'];

export interface LaunchResult {
  label: string;
  order: LaunchOrder;
  product_id: number;
  customers: number;
  early_joiners: number;
  units: number;
  arrival: { rate_per_s: number; early_window_s: number; later_window_s: number; gap_before_opening_s: number };
  /** Reservations of the product not REJECTED. */
  accepted: number;
  outcomes: { unit_at_once: number; unit_from_line: number; told_sold_out: number; refused_at_once: number; refused_tickets: number };
  errors: number;
  error_examples: string[];
  unfinished: number;
  workflows: { read_model: number; temporal: number };
  join_latency: {
    all: LatencySummary;
    placed_in_line: LatencySummary;
    unit_at_once: LatencySummary;
    refused_at_once: LatencySummary;
    /** By when the join was due: before the opening, from the opening to the sale's sold_out_at, after. */
    before_opening: LatencySummary;
    until_sold_out: LatencySummary;
    after_sold_out: LatencySummary;
  };
  polls: { n: number; per_customer: number; latency: LatencySummary };
  order_check: { admitted: number; out_of_order: number };
  draw?: DrawCheck;
  sold_out: {
    /** From the last unit taken (its RESERVE row) to the sale's sold_out_at. */
    sale_marked_after_ms: number;
    /** When each waiting customer saw SOLD_OUT on a poll of theirs, after the last unit. */
    told_after_last_unit: LatencySummary;
    /** Customers with a place in line, no unit, and never told SOLD_OUT. */
    never_told: number;
    /** Seconds from the opening to the last unit. */
    last_unit_after_opening_s: number;
  };
  cpu: {
    window_s: number;
    system_ms: number;
    per_customer_without_unit_ms: number;
    per_process_ms: Record<string, number>;
    /** The share before the opening: early joiners joining and polling (per early joiner). */
    before_opening: { system_ms: number; per_early_joiner_ms: number };
    /** The refusals' messages, sent by the notifier's drain after the window (per customer refused on arrival). */
    messages_after: { seconds: number; system_ms: number; per_refused_ms: number; per_process_ms: Record<string, number> };
  };
  /** PostgreSQL's own counters over the launch window (pg_stat_*): commits, and rows written per table. */
  postgres: {
    commits: number;
    rows_written: number;
    per_customer: { commits: number; rows_written: number };
    rows_by_table: Record<string, number>;
  };
  limit: {
    unit_limit: number;
    duplicating_customers: number;
    duplicate_requests: number;
    duplicate_answers: Record<string, number>;
    /** Customers with more than one answer that took a unit or a place. */
    duplicates_let_through: number;
    customers_over_limit: number;
    phones_over_limit: number;
    duplicate_latency: LatencySummary;
  };
  estimates: EstimateAccuracy;
  /** One poll by itself, after the launch (launch-polls.ts). */
  poll_cost?: PollCost;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** A distinct valid Korean mobile number per customer, over the whole run: +82 10 1xxx xxxx (one in 10,000 checked). */
let phonesGiven = 0;
function nextPhone(): string {
  const phone = `+8210${10_000_000 + phonesGiven++}`;
  if (phonesGiven % 10_000 === 1 && normalizePhone(phone) !== phone) throw new Error(`${phone} is not a valid number`);
  return phone;
}

/** Signs every customer's token before the launch (the signing is the load generator's, and not timed). */
async function customersFor(ctx: Ctx, product: number, o: LaunchOptions, early: number): Promise<Customer[]> {
  const tag = newReservationId().toLowerCase();
  const duplicating = Math.min(DUPLICATING.most, Math.floor(o.customers * DUPLICATING.share));
  const every = duplicating > 0 ? Math.floor(o.customers / duplicating) : Infinity;
  const customers: Customer[] = [];
  for (let i = 0; i < o.customers; i++) {
    if (i % 1000 === 0) ctx.progress(`launch ${o.order}: signing tokens ${i}/${o.customers}`);
    const call = await ctx.api.verifiedCustomer(`launch-${tag}-${i}`, nextPhone());
    const district = SEOUL_DISTRICTS[i % SEOUL_DISTRICTS.length]!.ko;
    const join =
      i < early
        ? { method: 'POST' as const, path: `/products/${product}/tickets`, body: { customer: { district } } }
        : { method: 'POST' as const, path: '/reservations', body: { productId: product, customer: { district } } };
    customers.push({ call, join, duplicates: i % every === 0 && i / every < duplicating ? DUPLICATING.each : 0 });
  }
  return customers;
}

/** Sets the sale: opening at `opensAt`, in the given order; the lottery's digest as published then. */
async function setSale(ctx: Ctx, product: number, order: LaunchOrder, opensAt: number): Promise<string | null> {
  const r = await ctx.api.admin('PATCH', `/products/${product}/sale`, { opensAt: new Date(opensAt).toISOString(), order });
  if (r.status !== 200) throw new Error(`setting the sale answered ${r.status}: ${JSON.stringify(r.body)}`);
  return ((r.body.lottery as { seedSha256: string | null } | undefined)?.seedSha256 ?? null);
}

/** Runs the crowd on its schedule until every customer is done (or the follow limit passes). */
async function runCrowd(ctx: Ctx, label: string, customers: Customer[], at: (i: number) => number, follow = true) {
  const crowd = createCrowd(customers, follow);
  const shown = setInterval(() => {
    const p = crowd.progress();
    ctx.progress(`launch ${label}: ${p.arrived}/${customers.length} joined, ${p.active} open`);
  }, 1_000);
  await scheduleArrivals(customers.length, at, (i, scheduled) => void crowd.arrive(i, scheduled));
  const limit = setTimeout(() => crowd.stop(), FOLLOW_LIMIT_MS);
  await crowd.finished;
  clearTimeout(limit);
  clearInterval(shown);
  return crowd;
}

function outcomes(fates: Fate[]) {
  const count = (f: (x: Fate) => boolean) => fates.filter(f).length;
  const unit = (x: Fate) => x.unitAtOnce || x.unitFromLine;
  return {
    unit_at_once: count((x) => x.unitAtOnce),
    unit_from_line: count((x) => x.unitFromLine && !x.unitAtOnce),
    told_sold_out: count((x) => !unit(x) && x.toldSoldOutAt !== undefined),
    refused_at_once: count((x) => x.refusedAtOnce),
    refused_tickets: count((x) => !unit(x) && x.refusal !== undefined && x.toldSoldOutAt === undefined),
  };
}

function joinLatency(joins: Join[], opening: number, soldOut: number): LaunchResult['join_latency'] {
  const of = (keep: (j: Join) => boolean) => summarize(joins.filter(keep).map((j) => j.ms));
  return {
    all: of(() => true),
    placed_in_line: of((j) => j.answer === 'ticket'),
    unit_at_once: of((j) => j.answer === 'unit'),
    refused_at_once: of((j) => j.answer === 'sold_out'),
    before_opening: of((j) => j.at < opening),
    until_sold_out: of((j) => j.at >= opening && j.at < soldOut),
    after_sold_out: of((j) => j.at >= soldOut),
  };
}

const systemMs = (cpu: Record<string, number>) => SYSTEM_TREES.reduce((s, t) => s + (cpu[t] ?? 0), 0);
const rounded = (cpu: Record<string, number>) => Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v)]));

/** The schedule on performance.now()'s clock: early joiners up to a second before the opening, the rest after it. */
function scheduleOf(o: LaunchOptions, early: number) {
  const start = performance.now() + 500;
  const opening = start + (early / o.ratePerSecond) * 1000 + GAP_MS;
  const at = (i: number) => (i < early ? start + (i / o.ratePerSecond) * 1000 : opening + AFTER_OPENING_MS + ((i - early) / o.ratePerSecond) * 1000);
  return { opening, at, openingEpoch: Date.now() + (opening - performance.now()) };
}

/** The CPU of every tree before the first join, at the opening, when every customer is done and the units CONFIRMED, and once the refusals' messages are sent. */
interface Snapshots {
  before: Ticks;
  opening: Ticks;
  done: Ticks;
  sent: Ticks;
  windowS: number;
  messagesS: number;
}

/** PostgreSQL's counters of the application's database: commits, and rows inserted, updated or deleted per table. */
async function pgCounters(ctx: Ctx) {
  const { rows } = await sql<{ relname: string; written: string }>`
    select relname, (n_tup_ins + n_tup_upd + n_tup_del)::text as written from pg_stat_user_tables`.execute(ctx.db);
  const commits = await sql<{ n: string }>`select xact_commit::text as n from pg_stat_database where datname = current_database()`.execute(ctx.db);
  return { commits: Number(commits.rows[0]?.n ?? 0), tables: Object.fromEntries(rows.map((r) => [r.relname, Number(r.written)])) };
}
type PgCounters = Awaited<ReturnType<typeof pgCounters>>;

// A backend reports its counters when it goes idle for this long at most (PostgreSQL's pgstat idle interval).
const PG_STATS_SETTLE_MS = 11_000;

function pgFigures(before: PgCounters, after: PgCounters, customers: number): LaunchResult['postgres'] {
  const byTable = Object.fromEntries(
    Object.entries(after.tables)
      .map(([t, n]) => [t, n - (before.tables[t] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]),
  );
  const written = Object.values(byTable).reduce((sum, n) => sum + n, 0);
  const commits = after.commits - before.commits;
  const per = (n: number) => Math.round((n / Math.max(1, customers)) * 100) / 100;
  return { commits, rows_written: written, per_customer: { commits: per(commits), rows_written: per(written) }, rows_by_table: byTable };
}

/** Runs the launch itself: the crowd, then what it set off, with CPU snapshots along the way. */
async function runLaunch(ctx: Ctx, label: string, product: number, customers: Customer[], plan: ReturnType<typeof scheduleOf>) {
  const pgBefore = await pgCounters(ctx);
  const before = cpuTicks(ctx.roots);
  const t0 = performance.now();
  let opening = before;
  const atOpening = setTimeout(() => (opening = cpuTicks(ctx.roots)), plan.opening - performance.now());
  const crowd = await runCrowd(ctx, label, customers, plan.at);
  clearTimeout(atOpening);
  const figures = await productFigures(ctx, product);
  await waitForCount(ctx, `launch ${label}`, product, 'CONFIRMED', figures.accepted);
  const done = cpuTicks(ctx.roots);
  const windowS = (performance.now() - t0) / 1000;
  await waitForOutbox(ctx, `launch ${label}: refusal messages`, product);
  const snapshots: Snapshots = { before, opening, done, sent: cpuTicks(ctx.roots), windowS, messagesS: (performance.now() - t0) / 1000 - windowS };
  ctx.progress(`launch ${label}: waiting for PostgreSQL's counters …`);
  await sleep(PG_STATS_SETTLE_MS);
  const postgres = pgFigures(pgBefore, await pgCounters(ctx), customers.length);
  // The reservations' figures once every one is CONFIRMED (the sale's too: sold_out_at is set by then).
  return { crowd, figures: await productFigures(ctx, product), snapshots, postgres };
}

export async function launch(ctx: Ctx, o: LaunchOptions): Promise<LaunchResult> {
  const label = `${o.order} ${o.customers.toLocaleString('en')}`;
  await waitUntilSettled(ctx, `launch ${label}`);
  const units = Math.max(1, Math.round(o.customers / 100));
  const early = earlyJoiners(o.customers);
  const product = await ctx.api.newProduct(units);
  const customers = await customersFor(ctx, product, o, early);
  const plan = scheduleOf(o, early);
  const digest = await setSale(ctx, product, o.order, plan.openingEpoch);
  const { crowd, figures, snapshots, postgres } = await runLaunch(ctx, label, product, customers, plan);

  ctx.progress(`launch ${label}: checking …`);
  const checks = {
    temporal: await temporalWorkflows(ctx, product, figures.workflows),
    order: await admittedOutOfOrder(ctx, product),
    draw: o.order === 'LOTTERY' ? await checkDraw(ctx, product, digest) : undefined,
    over: await overLimit(ctx, product, figures.unitLimit),
    estimates: await estimateAccuracy(ctx, product, crowd.fates),
  };
  const asked = crowd.fates.flatMap((f, i) => (f.toldSoldOutAt !== undefined && f.tickets.length > 0 ? [{ call: customers[i]!.call, ticketId: f.tickets.at(-1)! }] : [])).slice(0, 2_000);
  const polls = await pollCost(ctx, asked, SYSTEM_TREES);
  return { ...resultOf({ label, o, product, units, early, openingEpoch: plan.openingEpoch, customers, crowd, figures, snapshots, postgres, checks }), ...(polls ? { poll_cost: polls } : {}) };
}

interface Measured {
  label: string;
  o: LaunchOptions;
  product: number;
  units: number;
  early: number;
  openingEpoch: number;
  customers: Customer[];
  crowd: Crowd;
  figures: ProductFigures;
  snapshots: Snapshots;
  postgres: LaunchResult['postgres'];
  checks: { temporal: number; order: { admitted: number; outOfOrder: number }; draw: DrawCheck | undefined; over: { customers: number; phones: number }; estimates: EstimateAccuracy };
}

function cpuFigures(m: Measured): LaunchResult['cpu'] {
  const { before, opening, done, sent } = m.snapshots;
  const cpu = cpuMsBetween(before, done);
  const messages = cpuMsBetween(done, sent);
  const beforeOpening = systemMs(cpuMsBetween(before, opening));
  const perMs = (ms: number, n: number) => Math.round((ms / Math.max(1, n)) * 100) / 100;
  return {
    window_s: round1(m.snapshots.windowS),
    system_ms: Math.round(systemMs(cpu)),
    per_customer_without_unit_ms: perMs(systemMs(cpu), m.o.customers - m.figures.accepted),
    per_process_ms: rounded(cpu),
    before_opening: { system_ms: Math.round(beforeOpening), per_early_joiner_ms: perMs(beforeOpening, m.early) },
    messages_after: {
      seconds: round1(m.snapshots.messagesS),
      system_ms: Math.round(systemMs(messages)),
      per_refused_ms: perMs(systemMs(messages), m.figures.rejected),
      per_process_ms: rounded(messages),
    },
  };
}

function soldOutFigures(m: Measured): LaunchResult['sold_out'] {
  const lastUnit = m.figures.lastUnitAt ?? NaN;
  const fates = m.crowd.fates;
  const told = fates.filter((f) => f.toldSoldOutAt !== undefined && !f.unitFromLine).map((f) => f.toldSoldOutAt! - lastUnit);
  return {
    sale_marked_after_ms: Math.round((m.figures.soldOutAt ?? NaN) - lastUnit),
    told_after_last_unit: summarize(told),
    never_told: fates.filter((f) => f.tickets.length > 0 && !f.unitAtOnce && !f.unitFromLine && f.toldSoldOutAt === undefined).length,
    last_unit_after_opening_s: round1((lastUnit - m.openingEpoch) / 1000),
  };
}

function limitFigures(m: Measured): LaunchResult['limit'] {
  const { stats } = m.crowd;
  const duplicating = m.customers.filter((c) => c.duplicates > 0);
  return {
    unit_limit: m.figures.unitLimit,
    duplicating_customers: duplicating.length,
    duplicate_requests: duplicating.reduce((s, c) => s + c.duplicates, 0),
    duplicate_answers: stats.duplicateAnswers,
    duplicates_let_through: stats.duplicatesLetThrough,
    customers_over_limit: m.checks.over.customers,
    phones_over_limit: m.checks.over.phones,
    duplicate_latency: summarize(stats.duplicateMs),
  };
}

function resultOf(m: Measured): LaunchResult {
  const { o, figures, checks } = m;
  const { fates, stats } = m.crowd;
  return {
    label: m.label,
    order: o.order,
    product_id: m.product,
    customers: o.customers,
    early_joiners: m.early,
    units: m.units,
    arrival: {
      rate_per_s: o.ratePerSecond,
      early_window_s: round1(m.early / o.ratePerSecond),
      later_window_s: round1((o.customers - m.early) / o.ratePerSecond),
      gap_before_opening_s: GAP_MS / 1000,
    },
    accepted: figures.accepted,
    outcomes: outcomes(fates),
    errors: stats.errors + stats.unfinished,
    error_examples: stats.errorExamples,
    unfinished: stats.unfinished,
    workflows: { read_model: figures.workflows, temporal: checks.temporal },
    join_latency: joinLatency(stats.joins, m.openingEpoch, figures.soldOutAt ?? Infinity),
    polls: { n: stats.pollMs.length, per_customer: round1(stats.pollMs.length / o.customers), latency: summarize(stats.pollMs) },
    order_check: { admitted: checks.order.admitted, out_of_order: checks.order.outOfOrder },
    ...(checks.draw ? { draw: checks.draw } : {}),
    sold_out: soldOutFigures(m),
    cpu: cpuFigures(m),
    postgres: m.postgres,
    limit: limitFigures(m),
    estimates: checks.estimates,
  };
}

/**
 * An unmeasured launch before the first one when nothing ran before it (`--launch`): 300 customers
 * joining before the opening for 3 units, not following their tickets. The pools, caches and code
 * of every process are then as warm as the other phases leave them in a full run. Only tickets, so
 * no refusal messages for the next launch to wait for.
 */
export async function warmUp(ctx: Ctx, ratePerSecond: number): Promise<void> {
  const o: LaunchOptions = { order: 'FIFO', customers: 300, ratePerSecond };
  const product = await ctx.api.newProduct(3);
  const customers = await customersFor(ctx, product, o, o.customers);
  const plan = scheduleOf(o, o.customers);
  await setSale(ctx, product, o.order, plan.openingEpoch);
  await runCrowd(ctx, 'warm-up', customers, plan.at, false);
  await waitForCount(ctx, 'launch warm-up', product, 'CONFIRMED', 3);
}
