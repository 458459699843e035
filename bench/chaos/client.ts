/**
 * The chaos run's customers and operators talk to the API as a careful client would: every write
 * carries an Idempotency-Key and is repeated with it through outages until a final answer comes; a
 * place in line (202) is followed until it ends. What counts as final, and what was only an outage
 * the retry rode out, is tallied here.
 */
type Body = Record<string, unknown>;
export interface Answer {
  status: number;
  body: Body;
}

/** Answers that end a request; anything else is an outage the same key is retried through. */
function isFinal(a: Answer): boolean {
  if (a.status < 500) return true;
  // A decision that could not be made is recorded as such: repeating the key replays it.
  return a.body.code === 'STOCK_UNAVAILABLE';
}

export interface Tally {
  /** 5xx answers and connection errors a keyed request was repeated through, by code. */
  retried: Record<string, number>;
  /** Polls of places in line (GET /tickets/{id}), and those that failed (an outage, asked again). */
  polls: number;
  pollsFailed: number;
}

/** The fields of a ticket (GET /tickets/{id}, or a reserve's 202) the run reads. */
export interface TicketView {
  id: string;
  status: string;
  reservationId: string | null;
  refusal: string | null;
  pollAfterSeconds: number | null;
}

const STILL_OPEN = new Set(['WAITING', 'ADMITTED']);

/** `authorization` gives the header to send now (admin tokens live an hour: a long run renews them). */
export function createClient(base: string, authorization: () => string, tally: Tally) {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const send = async (method: string, route: string, body?: unknown, key?: string): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: authorization() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (key) headers['idempotency-key'] = key;
    const res = await fetch(`${base}${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Body };
  };

  /** Repeats a (keyed) request until a final answer, or undefined when `deadline` passes without one. */
  const final = async (method: string, route: string, body: unknown, key: string | undefined, deadline: number): Promise<Answer | undefined> => {
    while (Date.now() < deadline) {
      const wait = 1_000;
      try {
        const a = await send(method, route, body, key);
        if (isFinal(a)) return a;
        count(tally, String(a.body.code ?? a.status));
      } catch (err) {
        count(tally, errorCode(err));
      }
      await sleep(wait);
    }
    return undefined;
  };

  /** Reads until the reservation answers with a status `done` accepts (reads ride out outages silently). */
  const until = async (id: string, done: (status: string) => boolean, deadline: number): Promise<string | undefined> => {
    let last: string | undefined;
    while (Date.now() < deadline) {
      try {
        const a = await send('GET', `/reservations/${id}`);
        last = a.body.status as string | undefined;
        if (last && done(last)) return last;
      } catch {
        // an outage: read again
      }
      await sleep(500);
    }
    return last;
  };

  /**
   * Follows a place in line as its page would: asks after each pollAfterSeconds (which keeps it
   * alive) until it ends, riding out outages; its last view, or undefined when `deadline` passes first.
   */
  const follow = async (first: TicketView, deadline: number): Promise<TicketView | undefined> => {
    let view = first;
    let wait = (first.pollAfterSeconds ?? 1) * 1_000;
    while (STILL_OPEN.has(view.status)) {
      await sleep(wait);
      if (Date.now() >= deadline) return undefined;
      // A failed poll is asked again a second later.
      wait = 1_000;
      try {
        tally.polls++;
        const a = await send('GET', `/tickets/${first.id}`);
        if (a.status === 200) {
          view = a.body as unknown as TicketView;
          wait = (view.pollAfterSeconds ?? 1) * 1_000;
        } else if (a.status < 500) {
          return { ...view, status: `${a.status} ${String(a.body.code ?? '')}`.trim() };
        } else {
          tally.pollsFailed++;
        }
      } catch {
        tally.pollsFailed++;
      }
    }
    return view;
  };

  return { send, final, until, follow };
}
export type ChaosClient = ReturnType<typeof createClient>;

function count(tally: Tally, code: string) {
  tally.retried[code] = (tally.retried[code] ?? 0) + 1;
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  return err instanceof Error ? err.name : 'error';
}
