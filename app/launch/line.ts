/**
 * A product's line, as the API runs it: joining (tickets issued in groups), what a ticket shows
 * (place, people ahead, an estimated wait from the measured admission rate), keeping tickets alive,
 * and the admitter, which lets the next tickets in, in order, and turns each into a reservation
 * through the same admission and decision as a request by itself. Every API process runs an
 * admitter; the sale's row lets one at a time step each line.
 */
import type { Kysely } from 'kysely';
import { groupWriter } from '../../db/group-writer.js';
import { admitNext, recordSamples, type AdmittedTicket, type TickPolicy } from './sales.js';
import { endLapsedTicket, extendLeases, findTickets, issueTickets, settleTicket, type Join, type JoinResult, type Renewal, type TicketOutcome } from './tickets.js';
import { holderKeys } from './allowances.js';
import type { Database, QueueTicket } from '../../db/schema.js';
import type { ReservationInput, ReservationPolicy } from '../reservation/contract.js';
import { newReservationId } from '../../platform/ids.js';
import type { Logger } from '../../platform/log.js';
import type { LinePolicy } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import type { Reserver } from '../reservation/reserver.js';
import type { MeasuredRate, SaleBoard, SaleView } from './sale-board.js';

export const DEFAULT_LINE: LinePolicy = { leaseMs: 120_000, tickMs: 100, maxBatch: 200, retryAfterMs: 15_000, boardEveryMs: 500, sampleEveryMs: 5_000 };

export type TicketStatus = 'WAITING' | 'ADMITTED' | 'RESERVED' | 'SOLD_OUT' | 'REFUSED' | 'LAPSED' | 'LEFT' | 'CLOSED';

export interface TicketView {
  id: string;
  productId: number;
  status: TicketStatus;
  sale: { state: SaleView['state'] | 'UNKNOWN'; opensAt: string | null; order: 'FIFO' | 'LOTTERY'; unitsLeft: number | null };
  position: number | null;
  ahead: number | null;
  estimatedWait: { seconds: number; low: number; high: number; admittedPerSecond: number; soldOutLikely: boolean; soldOutInSeconds: number | null } | null;
  reservationId: string | null;
  refusal: string | null;
  joinedAt: string;
  /** When its row last changed: of two views of one ticket, the later wins. */
  updatedAt: string;
  leaseExpiresAt: string;
  pollAfterSeconds: number | null;
}

const ENDED: Partial<Record<QueueTicket['state'], TicketStatus>> = { RESERVED: 'RESERVED', SOLD_OUT: 'SOLD_OUT', REFUSED: 'REFUSED', LAPSED: 'LAPSED', LEFT: 'LEFT' };

/** Seconds until the opening, or 0 once open. */
const untilOpening = (sale: SaleView, nowMs: number) => (sale.opens_at ? Math.max(0, (sale.opens_at.getTime() - nowMs) / 1000) : 0);

/**
 * The wait of someone with `ahead` people in front: at the measured rate (its slowest and fastest
 * spells giving the range), or the desk's rate before anything was measured; none while paused.
 * A place takes a unit or none, so units go no faster than places: with more people ahead than
 * units left, the stock is likely gone first, and when (`soldOutInSeconds`) is the honest answer.
 */
function estimate(sale: SaleView, ahead: number, measured: MeasuredRate | undefined, nowMs: number) {
  if (sale.state === 'PAUSED' || sale.state === 'CLOSED') return null;
  const rate = measured && measured.perSecond > 0 ? measured : sale.admission_rate ? { perSecond: sale.admission_rate, low: sale.admission_rate, high: sale.admission_rate } : undefined;
  if (!rate) return null;
  const places = ahead + 1;
  const before = untilOpening(sale, nowMs);
  const at = (perSecond: number) => Math.ceil(before + places / Math.max(perSecond, rate.perSecond / 10));
  const unitsLeft = Math.max(0, sale.stock - sale.claimed);
  const soldOutLikely = places > unitsLeft;
  return {
    seconds: at(rate.perSecond),
    low: at(Math.max(rate.high, rate.perSecond)),
    high: at(Math.min(rate.low, rate.perSecond)),
    admittedPerSecond: Math.round(rate.perSecond * 10) / 10,
    soldOutLikely,
    soldOutInSeconds: soldOutLikely ? Math.ceil(before + unitsLeft / rate.perSecond) : null,
  };
}

/** A waiting page without the event stream learns of a sell-out at its next ask: at most this late. */
const MOST_POLL_S = 20;
/** How often, at most, a place likely to see the stock gone first asks again (the stream tells at once). */
const SOLD_OUT_LIKELY_POLL_S = 3;
/** Places this close to the front are asked about every second while the line's pace is unknown. */
const NEAR_FRONT = 50;

/** Renewals written in one statement, at most. */
const MAX_RENEWALS = 250;
/** Renewals that could not be written (the database away) are tried again this often. */
const RENEW_RETRY_MS = 1_000;

/** 0–2 s, the same for a ticket every time: pages told "at the opening" do not all ask in one instant. */
const spreadOf = (id: string) => id.charCodeAt(id.length - 1) % 3;

/**
 * When a waiting page should ask again. Before the opening nothing moves: at the opening (spread
 * over two seconds). After it: soon near the front, seldom far back, by the time the stock is likely
 * gone if that comes first; never past 20 s, nor half a lease (asking keeps the ticket alive).
 */
function pollAfter(t: QueueTicket, status: TicketStatus, sale: SaleView | undefined, ahead: number | null, wait: TicketView['estimatedWait'], leaseMs: number, nowMs: number): number | null {
  if (status !== 'WAITING' && status !== 'ADMITTED') return null;
  if (status === 'ADMITTED') return 1;
  const halfLease = Math.max(1, Math.floor(leaseMs / 2000));
  if (sale?.state === 'SCHEDULED') return Math.min(halfLease, Math.ceil(untilOpening(sale, nowMs)) + 1 + spreadOf(t.id));
  const most = Math.min(MOST_POLL_S, halfLease);
  // Nothing measured yet: near the front the turn may be a moment away.
  if (!wait) return Math.min(ahead !== null && ahead < NEAR_FRONT ? 1 : 5, most);
  // Likely sold out first: by then, and no later than 10 s (the rate may still be finding its pace);
  // not sooner than every 3 s, spread over 2 s, or a line of thousands asks every second at the end.
  const next = wait.soldOutLikely ? Math.min(10, Math.max(SOLD_OUT_LIKELY_POLL_S, wait.soldOutInSeconds ?? 10) + spreadOf(t.id)) : Math.ceil(wait.low / 4);
  return Math.min(most, Math.max(1, next));
}

/** What a ticket shows now: its row where it has ended, else the line's counters (positions are never written while waiting). */
export function ticketView(t: QueueTicket, sale: SaleView | undefined, measured: MeasuredRate | undefined, leaseMs: number, nowMs = Date.now()): TicketView {
  const position = t.position === null ? null : Number(t.position);
  let status: TicketStatus = ENDED[t.state] ?? (t.state === 'ADMITTED' ? 'ADMITTED' : 'WAITING');
  if (status === 'WAITING' && sale) {
    // Waiting when it sold out: SOLD_OUT; a place the watermark had passed before is being let in
    // (a copy of the row read just before the sell-out says WAITING; the row says how it ended).
    if (Number(t.seq) <= sale.sold_out_upto && (position === null || position > sale.sold_out_from)) status = 'SOLD_OUT';
    else if (t.alive_until.getTime() <= nowMs) status = 'LAPSED';
    else if (position !== null && position <= sale.admitted) status = 'ADMITTED';
    else if (sale.state === 'CLOSED') status = 'CLOSED';
  }
  const waiting = status === 'WAITING';
  const ahead = waiting && sale && position !== null ? Math.max(0, position - sale.admitted - 1) : null;
  const wait = waiting && sale && ahead !== null ? estimate(sale, ahead, measured, nowMs) : null;
  return {
    id: t.id,
    productId: t.product_id,
    status,
    sale: { state: sale?.state ?? 'UNKNOWN', opensAt: sale?.opens_at?.toISOString() ?? null, order: sale?.queue_order ?? 'FIFO', unitsLeft: sale ? sale.stock : null },
    position: waiting ? position : null,
    ahead,
    estimatedWait: wait,
    reservationId: t.state === 'RESERVED' ? t.reservation_id : null,
    refusal: t.refusal,
    joinedAt: t.joined_at.toISOString(),
    updatedAt: t.updated_at.toISOString(),
    leaseExpiresAt: t.alive_until.toISOString(),
    pollAfterSeconds: pollAfter(t, status, sale, ahead, wait, leaseMs, nowMs),
  };
}

export interface LineDeps {
  db: Kysely<Database>;
  log: Logger;
  board: SaleBoard;
  reserver: Reserver;
  policy: LinePolicy;
  /** What each new reservation's workflow is given (its time limits). */
  reservationPolicy: ReservationPolicy;
}

export function createLine(deps: LineDeps) {
  const { db, log, board, reserver, policy } = deps;
  const issue = groupWriter<Join, JoinResult>((joins) => issueTickets(db, joins));

  /** Joins the line; a ticket left to lapse is ended first, and a lost race is run once more alone. */
  const join = async (j: Omit<Join, 'leaseMs'>): Promise<JoinResult> => {
    const entry = { ...j, leaseMs: policy.leaseMs };
    let result = await issue(entry);
    if (result.outcome === 'LAPSED_TICKET') {
      await endLapsedTicket(db, result.ticketId);
      result = await issue(entry);
    }
    if (result.outcome === 'RETRY') result = await issue(entry);
    if (result.outcome === 'ISSUED') {
      // A served API admits from the start; an app run in-process (a test) from its first ticket.
      if (stopped) api.start();
      // Let it in now if the line is moving; before the opening nobody is (the tick steps at it).
      if (board.peek(j.productId)?.state !== 'SCHEDULED') void step(j.productId);
    }
    return result;
  };

  /** A place in line for a customer, or the problem why not (ids: a fresh ticket, the given reservation). */
  const enqueue = async (j: Omit<Join, 'leaseMs' | 'id'>): Promise<QueueTicket> => {
    const result = await join({ ...j, id: newReservationId() });
    switch (result.outcome) {
      case 'ISSUED':
        remember(result.ticket);
        return result.ticket;
      case 'LIMIT_REACHED':
        throw new Problem(409, 'LIMIT_REACHED', 'you (or your phone number) already hold as many units of this phone as one customer may');
      case 'ALREADY_QUEUED':
        throw new Problem(409, 'ALREADY_QUEUED', result.own ? `you already have a place in this line: ticket ${result.ticketId}` : 'your phone number already has a place in this line', result.own ? { ticketId: result.ticketId } : {});
      default:
        throw new Problem(409, 'ALREADY_QUEUED', 'another request of yours is joining this line right now');
    }
  };

  // ---- leases ----
  // Renewals asked for and not yet written: ticket id → when its holder first and last asked. They
  // are written in groups (one statement for every renewal asked meanwhile), and one that could not
  // be written (PostgreSQL restarting, away) stays and is written once it can be, dated at its asks:
  // its holder asked while the ticket was alive, and a part of the system blinking must not cost
  // them their place.
  const asked = new Map<string, { first: number; last: number }>();
  // The leases this process's renewals wrote, as the database answered: a copy of a ticket read
  // earlier (this process's, an event stream's) is shown and renewed by the latest one.
  const renewed = new Map<string, number>();
  let renewing: Promise<boolean> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closing = false;

  /** The latest lease this process knows a ticket has, or will have once the renewal asked for is written. */
  const leaseOf = (t: QueueTicket) => {
    const ask = asked.get(t.id);
    return Math.max(t.alive_until.getTime(), renewed.get(t.id) ?? 0, ask === undefined ? 0 : ask.last + policy.leaseMs);
  };
  const noteLease = (id: string, until: number) => {
    renewed.delete(id);
    if (renewed.size >= MAX_KNOWN) renewed.delete(renewed.keys().next().value!);
    renewed.set(id, until);
    // This process's own copy is brought up to date: a poll answered from it needs no other copy.
    const known = waiting.get(id);
    if (known && known.alive_until.getTime() < until) known.alive_until = new Date(until);
  };

  const writeRenewals = async () => {
    while (asked.size > 0) {
      const now = Date.now();
      const group: Renewal[] = [];
      for (const [id, ask] of asked) {
        group.push({ id, firstAskedMsAgo: now - ask.first, lastAskedMsAgo: now - ask.last });
        if (group.length === MAX_RENEWALS) break;
      }
      const written = await extendLeases(db, group, policy.leaseMs);
      // Written, or the ticket ended meanwhile: either way nothing is left to renew. An ask that came
      // while this was written is covered by it (dated a moment earlier).
      for (const r of group) asked.delete(r.id);
      for (const w of written) noteLease(w.id, w.alive_until.getTime());
    }
  };
  /** Writes the renewals asked for (true once written); what cannot be written now is tried again in a second. */
  const renew = (): Promise<boolean> => {
    clearTimeout(retry);
    retry = undefined;
    renewing ??= writeRenewals().then(
      () => {
        renewing = undefined;
        // Asked just as the last group was written.
        if (asked.size > 0) void renew();
        return true;
      },
      (err: unknown) => {
        renewing = undefined;
        // An ask older than a lease would renew nothing any more.
        const stale = Date.now() - policy.leaseMs;
        for (const [id, ask] of asked) if (ask.last <= stale) asked.delete(id);
        log.warn('line: lease renewals not written; they are tried again', { renewals: asked.size, error: err });
        if (!closing && asked.size > 0) {
          retry = setTimeout(() => void renew(), RENEW_RETRY_MS);
          retry.unref();
        }
        return false;
      },
    );
    return renewing;
  };

  /** A page or a stream showed the ticket: keep it alive when half its lease has gone. */
  const touch = (t: QueueTicket, nowMs = Date.now()) => {
    const until = leaseOf(t);
    if (t.state !== 'WAITING' || until <= nowMs) return;
    if (until - nowMs >= policy.leaseMs / 2) return;
    // Asked again before the first was written: the lease runs from the last ask, and counts if the
    // ticket was alive at the first (each ask came within the lease the one before would give).
    asked.set(t.id, { first: asked.get(t.id)?.first ?? nowMs, last: nowMs });
    // Written now unless a write is under way (this one goes with its next group) or the database
    // was away at the last one (the retry takes it).
    if (!renewing && !retry) void renew();
  };

  /** The ticket with the latest lease this process knows of it. */
  const current = (t: QueueTicket) => {
    const until = leaseOf(t);
    return until > t.alive_until.getTime() ? { ...t, alive_until: new Date(until) } : t;
  };
  const view = (t: QueueTicket) => ticketView(current(t), board.peek(t.product_id), board.rate(t.product_id), policy.leaseMs);
  /** The view, with the board read first if this process has not read the product's line lately. */
  const show = async (t: QueueTicket) => {
    await board.get(t.product_id, 2 * policy.boardEveryMs);
    return view(t);
  };

  // Waiting tickets as this process last read them: a waiting ticket's row does not change until its
  // turn comes (its place is the line's counters), so a page asking every few seconds costs no read.
  const waiting = new Map<string, QueueTicket>();
  const MAX_KNOWN = 500_000;
  const remember = (t: QueueTicket) => {
    waiting.delete(t.id);
    if (t.state !== 'WAITING') return void renewed.delete(t.id);
    if (waiting.size >= MAX_KNOWN) waiting.delete(waiting.keys().next().value!);
    waiting.set(t.id, t);
  };
  /**
   * Whether this process's copy of a ticket still tells its state with the line's counters: it waits
   * with its place (or, undrawn, until its lottery's draw), or the sell-out's watermark ended it (the
   * view says SOLD_OUT from the counters alone). Anything else (its turn, a lapse, the draw) is read.
   */
  const copyHolds = (known: QueueTicket) => {
    const sale = board.peek(known.product_id);
    const status = view(known).status;
    if (status === 'SOLD_OUT') return true;
    return status === 'WAITING' && (known.position !== null || sale?.state === 'SCHEDULED' || (sale !== undefined && sale.drawn_at === null));
  };
  // Pages asking at one moment (the opening, the draw, a sell-out) are read together, in one statement.
  const read = groupWriter<string, QueueTicket | undefined>((ids) => findTickets(db, ids));

  /** A ticket by id: this process's copy while it holds, else read (another process's writes to it come with its turn). */
  const find = async (id: string): Promise<QueueTicket | undefined> => {
    const known = waiting.get(id);
    if (known) {
      await board.get(known.product_id, 2 * policy.boardEveryMs);
      if (copyHolds(known)) return known;
    }
    const row = await read(id);
    if (row) remember(row);
    else waiting.delete(id);
    return row;
  };

  // ---- the admitter ----
  const tickPolicy: TickPolicy = {
    maxInFlight: reserver.policy.maxInFlight,
    maxBatch: policy.maxBatch,
    retryAfterMs: policy.retryAfterMs,
    burstSeconds: 1,
  };
  const stepping = new Set<number>();
  let timer: NodeJS.Timeout | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let stopReading: (() => void) | undefined;
  let stopped = true;
  let pending: Promise<unknown>[] = [];

  /** Whether a line has work: people waiting, admissions to finish, a draw or a sell-out to announce. */
  const hasWork = (v: SaleView) =>
    v.state !== 'SCHEDULED' &&
    (v.waiting > 0 || v.in_admission > 0 || (v.queue_order === 'LOTTERY' && v.seed !== null && v.drawn_at === null && v.early_upto > 0));

  const step = async (productId: number) => {
    if (stepping.has(productId) || stopped) return;
    stepping.add(productId);
    try {
      // Renewals that could not be written (the database away) are written before any place is
      // passed over: a ticket its holder kept asking about must not lapse for a renewal on its way.
      if (retry && !(await renew())) return;
      const tick = await admitNext(db, productId, tickPolicy);
      if (tick.kind === 'admitted') for (const ticket of tick.tickets) track(productId, admitTicket(ticket));
      // Everyone waiting is told at the board's next read: read it now.
      if (tick.kind === 'sold-out' && tick.told > 0) void board.refresh().catch(() => undefined);
    } catch (err) {
      log.warn('line: admission step failed; trying again', { productId, error: err });
    } finally {
      stepping.delete(productId);
    }
  };

  const track = (productId: number, work: Promise<void>) => {
    const done = work
      // Its outcome not written (the database away): the ticket stays admitted and is taken up again.
      .catch((err: unknown) => log.warn('line: an admission did not finish; it is taken up again', { productId, error: err }))
      .finally(() => {
        pending = pending.filter((p) => p !== done);
        // A decision made frees a unit for the next in line: step again at once.
        void step(productId);
      });
    pending.push(done);
  };

  // The sale board's last read, as the admitter and the sampler saw it.
  let views: SaleView[] = [];
  const look = (current: SaleView[]) => {
    views = current;
    for (const v of current) if (hasWork(v)) void step(v.id);
  };

  // The desk's charts: a sample of every product whose figures moved since its last one (a chart
  // holds a line level between samples).
  const sampled = new Map<number, string>();
  const sample = async () => {
    const due = views.filter((v) => {
      const figures = `${v.stock}|${v.claimed}|${v.issued}|${v.admitted}`;
      if (sampled.get(v.id) === figures) return false;
      sampled.set(v.id, figures);
      return true;
    });
    await recordSamples(db, due.map((v) => v.id));
  };

  /** One admitted ticket becomes a reservation, or is told why not; what happened is written on it. */
  const admitTicket = async (t: AdmittedTicket): Promise<void> => {
    const input: ReservationInput = {
      reservationId: t.reservation_id,
      productId: t.product_id,
      quantity: t.quantity,
      customerId: t.customer_id,
      fulfilment: t.fulfilment,
      policy: deps.reservationPolicy,
    };
    const contact = { reservationId: t.reservation_id, customerId: t.customer_id, name: t.name, phone: t.phone, district: t.district, latitude: t.latitude, longitude: t.longitude };
    const ticketLog = log.child({ ticketId: t.id, reservationId: t.reservation_id });
    let outcome: TicketOutcome;
    try {
      outcome = await admitAndDecide(input, contact, holderKeys(t.customer_id, t.phone_key), ticketLog);
    } catch (err) {
      // Left admitted: any process takes it up again after the retry time (the same reservation id).
      ticketLog.warn('line: admission failed; it is taken up again', { error: err });
      return;
    }
    await settleTicket(db, t.id, outcome);
  };

  const admitAndDecide = async (input: ReservationInput, contact: Parameters<Reserver['enter']>[1], holders: string[], ticketLog: Logger): Promise<TicketOutcome> => {
    let entry;
    try {
      entry = await reserver.enter(input, contact, holders, 'line');
    } catch (err) {
      if (err instanceof Problem) return { state: 'REFUSED', refusal: err.code };
      throw err;
    }
    if (entry.kind === 'held' || entry.kind === 'queue') return { state: 'RETRY' };
    if (entry.kind === 'sold-out') return { state: 'SOLD_OUT' };
    const decided = await reserver.decide(input, entry.productName, true, ticketLog);
    if (!decided) throw new Error('the stock decision was not recorded');
    if (decided.status !== 'REJECTED') return { state: 'RESERVED' };
    return decided.reject_reason === 'OUT_OF_STOCK' ? { state: 'SOLD_OUT' } : { state: 'REFUSED', refusal: decided.reject_reason ?? 'REJECTED' };
  };

  const api = {
    enqueue,
    find,
    /** The customer left (through this process): forget the copy. */
    forget: (id: string) => {
      waiting.delete(id);
      renewed.delete(id);
    },
    touch,
    view,
    show,
    /** Starts this process's admitter (and the desk's sampler); idempotent. */
    start() {
      closing = false;
      if (!stopped) return;
      stopped = false;
      stopReading = board.keepReading();
      // Each tick looks at the board as last read (it reads itself every SALE_BOARD_EVERY): no query.
      timer = setInterval(() => look(board.last()), policy.tickMs);
      timer.unref();
      sampler = setInterval(() => void sample().catch((err: unknown) => log.warn('line: chart sample failed', { error: err })), policy.sampleEveryMs);
      sampler.unref();
    },
    /** Stops admitting and waits for the admissions in flight; the renewals asked for are written once more. */
    async stop() {
      stopped = true;
      closing = true;
      clearInterval(timer);
      clearInterval(sampler);
      clearTimeout(retry);
      stopReading?.();
      await Promise.allSettled(pending);
      await renewing;
      if (asked.size > 0) await renew();
    },
  };
  return api;
}

export type Line = ReturnType<typeof createLine>;
