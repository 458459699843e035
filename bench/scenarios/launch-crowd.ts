/**
 * The launch's customers, as their pages behave: each joins the line once at its scheduled time (a
 * few also send duplicate joins at the same moment), then follows every ticket it got with GET
 * /tickets/{id} after each Retry-After until the ticket ends. Everything runs on timers in this
 * process (one timer for the arrivals, one per waiting ticket): no busy loop, so the load generator
 * stays cheap next to the system it measures.
 */
import type { Answer, Call } from '../http.js';

export type Route = { method: 'POST'; path: string; body: unknown };

export interface Customer {
  call: Call;
  /** Its join: POST /products/{id}/tickets before the opening, POST /reservations after. */
  join: Route;
  /** Sends this many duplicate joins together with its own. */
  duplicates: number;
}

/** A ticket as the API shows it (the fields the bench reads). */
interface TicketView {
  id: string;
  status: string;
  refusal: string | null;
  estimatedWait: { seconds: number; low: number; high: number } | null;
  pollAfterSeconds: number | null;
}

/** The first estimated wait a ticket showed, and when (epoch ms). */
export interface ShownEstimate {
  ticketId: string;
  at: number;
  seconds: number;
  low: number;
  high: number;
}

/** What became of one customer. */
export interface Fate {
  unitAtOnce: boolean;
  unitFromLine: boolean;
  refusedAtOnce: boolean;
  /** When (epoch ms) one of its tickets first read SOLD_OUT. */
  toldSoldOutAt?: number;
  /** Why a ticket of theirs was REFUSED, if one was. */
  refusal?: string;
  tickets: string[];
  estimate?: ShownEstimate;
  estimatesShown: number;
}

/** A customer's own join: when it was due (epoch ms), its latency from then, and its answer. */
export interface Join {
  at: number;
  ms: number;
  answer: 'ticket' | 'unit' | 'sold_out';
}

export interface CrowdStats {
  joins: Join[];
  duplicateMs: number[];
  /** Answers to the duplicate joins (and to the customer's own join when a duplicate won), by status and code. */
  duplicateAnswers: Record<string, number>;
  /** Customers with more than one answer that took a unit or a place (201 or 202). */
  duplicatesLetThrough: number;
  pollMs: number[];
  errors: number;
  errorExamples: string[];
  unfinished: number;
}

type Kind = 'unit' | 'ticket' | 'sold_out' | 'limited' | 'error';

function kindOf(a: Answer): Kind {
  if (a.status === 201) return 'unit';
  if (a.status === 202 && typeof a.body.id === 'string') return 'ticket';
  if (a.status === 409 && a.body.code === 'OUT_OF_STOCK') return 'sold_out';
  if (a.status === 409 && (a.body.code === 'LIMIT_REACHED' || a.body.code === 'ALREADY_QUEUED')) return 'limited';
  return 'error';
}

const describe = (a: Answer) => `${a.status} ${typeof a.body.code === 'string' ? a.body.code : JSON.stringify(a.body).slice(0, 120)}`;

// A poll that failed (network, 5xx) is repeated after this long, this many times at most in a row.
const POLL_RETRY_MS = 1_000;
const POLL_ATTEMPTS = 5;
const FOLLOWED = new Set(['WAITING', 'ADMITTED']);
const epochOf = (t: number) => Date.now() + (t - performance.now());

/** `follow`: whether customers follow their tickets (a warm-up's do not). */
export function createCrowd(customers: Customer[], follow = true) {
  const fates: Fate[] = customers.map(() => ({ unitAtOnce: false, unitFromLine: false, refusedAtOnce: false, tickets: [], estimatesShown: 0 }));
  const stats: CrowdStats = { joins: [], duplicateMs: [], duplicateAnswers: {}, duplicatesLetThrough: 0, pollMs: [], errors: 0, errorExamples: [], unfinished: 0 };
  const timers = new Set<NodeJS.Timeout>();
  let active = 0;
  let arrived = 0;
  let stopped = false;
  let settle: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (settle = resolve));

  const error = (what: string) => {
    stats.errors++;
    if (stats.errorExamples.length < 5 && !stats.errorExamples.includes(what)) stats.errorExamples.push(what);
  };
  const endOne = () => {
    if (--active === 0 && arrived === customers.length) settle();
  };
  const later = (ms: number, run: () => void) => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      run();
    }, ms);
    timers.add(t);
  };

  /** Reads a ticket's view; true while it is still worth following. */
  const see = (i: number, view: TicketView): boolean => {
    const fate = fates[i]!;
    if (view.status === 'WAITING' && view.estimatedWait) {
      fate.estimatesShown++;
      fate.estimate ??= { ticketId: view.id, at: Date.now(), ...view.estimatedWait };
    }
    if (FOLLOWED.has(view.status)) return true;
    if (view.status === 'RESERVED') fate.unitFromLine = true;
    else if (view.status === 'SOLD_OUT') fate.toldSoldOutAt ??= Date.now();
    else if (view.status === 'REFUSED') {
      fate.refusal = view.refusal ?? 'REFUSED';
      // A duplicate's extra ticket is refused at its turn (the customer's unit is taken): expected.
      if (customers[i]!.duplicates === 0) error(`ticket REFUSED ${fate.refusal}`);
    } else error(`ticket ended ${view.status}`);
    return false;
  };

  const poll = async (i: number, ticketId: string, failures: number) => {
    const t = performance.now();
    let answer: Answer | undefined;
    try {
      answer = await customers[i]!.call('GET', `/tickets/${ticketId}`);
    } catch (err) {
      error(`poll: ${String(err).slice(0, 120)}`);
    }
    if (answer?.status === 200) {
      stats.pollMs.push(performance.now() - t);
      return followTicket(i, answer.body as unknown as TicketView, answer.retryAfterMs);
    }
    if (answer) error(`poll: ${describe(answer)}`);
    if (failures + 1 < POLL_ATTEMPTS) later(POLL_RETRY_MS, () => void poll(i, ticketId, failures + 1));
    else endOne();
  };

  /** Follows a ticket after its Retry-After (the body's pollAfterSeconds if the header is missing). */
  const followTicket = (i: number, view: TicketView, retryAfterMs: number | undefined) => {
    if (!see(i, view) || !follow) return endOne();
    later(retryAfterMs ?? (view.pollAfterSeconds ?? 1) * 1000, () => void poll(i, view.id, 0));
  };

  /** Sends one join request; its latency counts from `scheduled`. */
  const send = async (i: number, scheduled: number) => {
    const { call, join } = customers[i]!;
    try {
      const answer = await call(join.method, join.path, join.body);
      return { answer, ms: performance.now() - scheduled };
    } catch (err) {
      error(`join: ${String(err).slice(0, 120)}`);
      return { answer: undefined, ms: performance.now() - scheduled };
    }
  };

  /** The customer's own join and its duplicates, all at once; then what their answers say. */
  const arrive = async (i: number, scheduled: number) => {
    active++;
    arrived++;
    const sent = await Promise.all(Array.from({ length: 1 + customers[i]!.duplicates }, () => send(i, scheduled)));
    const answers = sent.map((s) => s.answer).filter((a): a is Answer => a !== undefined);
    const kinds = answers.map(kindOf);
    const own = sent[0]!;
    if (own.answer) {
      const kind = kindOf(own.answer);
      if (kind === 'ticket' || kind === 'unit' || kind === 'sold_out') stats.joins.push({ at: epochOf(scheduled), ms: own.ms, answer: kind });
    }
    sent.slice(1).forEach((s) => stats.duplicateMs.push(s.ms));
    if (customers[i]!.duplicates > 0) countDuplicates(answers, kinds);
    settleJoin(i, answers, kinds);
  };

  const countDuplicates = (answers: Answer[], kinds: Kind[]) => {
    const winner = kinds.findIndex((k) => k === 'unit' || k === 'ticket');
    if (kinds.filter((k) => k === 'unit' || k === 'ticket').length > 1) stats.duplicatesLetThrough++;
    answers.forEach((a, n) => {
      if (n === winner) return;
      const key = `${a.status} ${typeof a.body.code === 'string' ? a.body.code : ''}`.trim();
      stats.duplicateAnswers[key] = (stats.duplicateAnswers[key] ?? 0) + 1;
    });
  };

  const settleJoin = (i: number, answers: Answer[], kinds: Kind[]) => {
    const fate = fates[i]!;
    const duplicating = customers[i]!.duplicates > 0;
    answers.forEach((a, n) => {
      if (kinds[n] === 'error' || (kinds[n] === 'limited' && !duplicating)) error(`join: ${describe(a)}`);
    });
    if (kinds.includes('unit')) fate.unitAtOnce = true;
    const placed = answers.filter((_, n) => kinds[n] === 'ticket');
    if (!fate.unitAtOnce && placed.length === 0) {
      if (kinds.includes('sold_out')) fate.refusedAtOnce = true;
      // Every answer refused the customer as already served, yet none served them.
      else if (duplicating && kinds.includes('limited')) error('join: every request refused as a duplicate, none took a place');
    }
    for (const a of placed) {
      const view = a.body as unknown as TicketView;
      fate.tickets.push(view.id);
      active++;
      followTicket(i, view, a.retryAfterMs);
    }
    endOne();
  };

  return {
    fates,
    stats,
    arrive,
    finished,
    /** Customers that have joined, and tickets or joins still open. */
    progress: () => ({ arrived, active }),
    /** Stops following (the run's deadline): what is still open counts as unfinished. */
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      stats.unfinished = active;
      settle();
    },
  };
}

export type Crowd = ReturnType<typeof createCrowd>;

/**
 * Calls `arrive(i, scheduled)` for every i at `at(i)` (performance.now() time, in order), all those
 * due on one timer; resolves once the last has been called.
 */
export function scheduleArrivals(count: number, at: (i: number) => number, arrive: (i: number, scheduled: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < count && at(next) <= now) {
        arrive(next, at(next));
        next++;
      }
      if (next < count) setTimeout(tick, Math.max(0, at(next) - performance.now()));
      else resolve();
    };
    tick();
  });
}
