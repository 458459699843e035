/**
 * A reserve followed to its final answer, as a customer's page does: 201 (a unit) and 409
 * OUT_OF_STOCK are final; 202 is a place in line (a ticket), asked about with GET /tickets/{id}
 * after each Retry-After until it ends: RESERVED (with its `reservationId`), SOLD_OUT, or REFUSED,
 * LAPSED, LEFT, CLOSED. Used by the burst, the sustained rate, the cancellations and the cost
 * batches; the launch day has its own crowd (scenarios/launch-crowd.ts).
 */
import type { Answer, Call } from './http.js';
import { sleep } from './load.js';

export type Outcome = 'accepted' | 'sold_out' | 'error';

/** One answer to the reserve itself: its status (and code), and its latency from its send. */
export interface ReserveAnswer {
  status: number;
  code?: string;
  ms: number;
}

export interface Followed {
  outcome: Outcome;
  /** The reservation that holds the unit: the 201's id, or the ticket's `reservationId`. */
  reservationId?: string;
  /** The reserve's answers in order: one, unless an API from before the line answered 503 STOCK_HELD. */
  answers: ReserveAnswer[];
  /** Set when the reserve answered 202: the ticket, the status it ended in, and its polls' latencies. */
  ticket?: { id: string; status: string; pollMs: number[] };
  /** From the first send to the final answer. */
  ms: number;
  error?: string;
}

export interface FollowOptions {
  /** How long a ticket may be followed before it counts as an error (5 minutes). */
  followForMs?: number;
}

// A poll that failed (network, 5xx, 429) is repeated after this long, this many times at most in a row.
const POLL_RETRY_MS = 1_000;
const POLL_ATTEMPTS = 5;
// A STOCK_HELD answer (bench:compare --base of a commit before the line) without Retry-After is repeated after this long.
const STOCK_HELD_RETRY_MS = 1_000;
const FOLLOW_FOR_MS = 5 * 60_000;
const STILL_OPEN = new Set(['WAITING', 'ADMITTED']);

const describe = (a: Answer) => `${a.status} ${typeof a.body.code === 'string' ? a.body.code : JSON.stringify(a.body).slice(0, 160)}`;
const codeOf = (a: Answer) => (typeof a.body.code === 'string' ? a.body.code : undefined);

/**
 * Sends the reserve (`send`) and follows a 202's ticket with `poll` (the same caller's token, or an
 * admin's) until its final answer. Never throws: a failure is the outcome `error`, with why.
 */
export async function reserveFollowing(send: () => Promise<Answer>, poll: Call, o: FollowOptions = {}): Promise<Followed> {
  const started = performance.now();
  const answers: ReserveAnswer[] = [];
  const end = (f: Omit<Followed, 'answers' | 'ms'>): Followed => ({ ...f, answers, ms: performance.now() - started });
  for (;;) {
    const t = performance.now();
    let a: Answer;
    try {
      a = await send();
    } catch (err) {
      return end({ outcome: 'error', error: `reserve: ${String(err).slice(0, 160)}` });
    }
    answers.push({ status: a.status, ...(codeOf(a) ? { code: codeOf(a) } : {}), ms: performance.now() - t });
    if (a.status === 201) return end({ outcome: 'accepted', reservationId: a.body.id as string });
    if (a.status === 409 && a.body.code === 'OUT_OF_STOCK') return end({ outcome: 'sold_out' });
    if (a.status === 202 && typeof a.body.id === 'string') {
      const ticket = await followTicket(poll, a, o.followForMs ?? FOLLOW_FOR_MS);
      return end(ticket);
    }
    // Before the line (an older checkout under bench:compare): every unit left held by decisions in flight.
    if (a.status === 503 && a.body.code === 'STOCK_HELD') {
      await sleep(a.retryAfterMs ?? STOCK_HELD_RETRY_MS);
      continue;
    }
    return end({ outcome: 'error', error: `reserve: ${describe(a)}` });
  }
}

/** Asks about the ticket after each Retry-After (the body's pollAfterSeconds if the header is missing) until it ends. */
async function followTicket(poll: Call, first: Answer, followForMs: number): Promise<Omit<Followed, 'answers' | 'ms'>> {
  const id = first.body.id as string;
  const pollMs: number[] = [];
  const deadline = performance.now() + followForMs;
  let view = first.body;
  let wait = waitOf(first);
  let failures = 0;
  let lastError = '';
  while (STILL_OPEN.has(view.status as string)) {
    if (performance.now() + wait > deadline) {
      return { outcome: 'error', ticket: { id, status: String(view.status), pollMs }, error: `ticket still ${String(view.status)} after ${followForMs / 1000} s` };
    }
    await sleep(wait);
    const t = performance.now();
    let a: Answer | undefined;
    try {
      a = await poll('GET', `/tickets/${id}`);
    } catch (err) {
      lastError = String(err).slice(0, 160);
    }
    if (a?.status === 200) {
      pollMs.push(performance.now() - t);
      failures = 0;
      view = a.body;
      wait = waitOf(a);
      continue;
    }
    if (a) lastError = describe(a);
    // A 4xx other than 429 will not change by asking again.
    if ((a && a.status < 500 && a.status !== 429) || ++failures >= POLL_ATTEMPTS) {
      return { outcome: 'error', ticket: { id, status: String(view.status), pollMs }, error: `poll: ${lastError}` };
    }
    wait = POLL_RETRY_MS;
  }
  const status = String(view.status);
  const ticket = { id, status, pollMs };
  if (status === 'RESERVED' && typeof view.reservationId === 'string') return { outcome: 'accepted', reservationId: view.reservationId, ticket };
  if (status === 'SOLD_OUT') return { outcome: 'sold_out', ticket };
  const refusal = typeof view.refusal === 'string' ? ` ${view.refusal}` : '';
  return { outcome: 'error', ticket, error: `ticket ended ${status}${refusal}` };
}

/** When to ask next: Retry-After, else the view's pollAfterSeconds, else a second. */
function waitOf(a: Answer): number {
  const after = a.body.pollAfterSeconds;
  return a.retryAfterMs ?? (typeof after === 'number' ? after * 1000 : 1_000);
}
