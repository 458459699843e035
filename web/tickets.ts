/**
 * The customer's places in line (tickets) as the page keeps them: loaded with `GET /tickets`,
 * followed on the event stream, and, while the stream is not open, by asking `GET /tickets/{id}`
 * after each answer's `pollAfterSeconds` (never sooner): asking is what keeps a ticket alive, so a
 * ticket never lapses while the page is open.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { retryDelaySeconds } from './retry.js';
import type { StreamState } from './events.js';
import type { Ticket, TicketStatus } from './types.js';

/** Endings the customer should read about (and dismiss); LEFT was their own doing. */
const NEWS: ReadonlySet<TicketStatus> = new Set(['SOLD_OUT', 'REFUSED', 'LAPSED', 'CLOSED']);
const DISMISSED_KEY = 'tshop.dismissedTickets';

export const isLive = (t: Ticket) => t.status === 'WAITING' || t.status === 'ADMITTED';

/**
 * How far along a ticket is. CLOSED is shown while the sale is closed and may turn back into
 * WAITING if the desk reopens it. SOLD_OUT and LAPSED may be told of a ticket from an older view of
 * it (the line's counters said so while its admission was being written): what its admission wrote,
 * RESERVED or REFUSED, outranks them.
 */
function stage(t: Ticket): number {
  switch (t.status) {
    case 'WAITING':
    case 'CLOSED':
      return 0;
    case 'ADMITTED':
      return 1;
    case 'RESERVED':
    case 'REFUSED':
      return 3;
    default:
      return 2;
  }
}

/** Whether `incoming` is newer than `known`: an answer that crossed an event never takes a ticket back. */
export function isNewer(known: Ticket, incoming: Ticket): boolean {
  if (stage(incoming) !== stage(known)) return stage(incoming) > stage(known);
  if (stage(known) >= 2) return false;
  // The line only moves forward: fewer people ahead is the later news.
  if (known.status === 'WAITING' && incoming.status === 'WAITING' && known.ahead !== null && incoming.ahead !== null) return incoming.ahead <= known.ahead;
  return true;
}

interface Entry {
  ticket: Ticket;
  /** When to ask about it again (ms since the epoch); undefined once it has ended. */
  dueAt: number | undefined;
  /** Seen waiting on this page: its outcome (a reservation too) is news here. */
  followed: boolean;
  /** Questions about it that failed in a row (the API restarting, the network gone). */
  failures?: number;
}

function readDismissed(): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? '[]') as string[]);
  } catch {
    return new Set();
  }
}

/** The tickets to show, newest first: per product the newest, while it waits or until its news is dismissed. */
function shown(entries: Map<string, Entry>, dismissed: Set<string>): Ticket[] {
  const newest = new Map<number, Entry>();
  for (const e of entries.values()) {
    const other = newest.get(e.ticket.productId);
    if (!other || other.ticket.joinedAt < e.ticket.joinedAt) newest.set(e.ticket.productId, e);
  }
  return [...newest.values()]
    .filter(({ ticket: t, followed }) => isLive(t) || (!dismissed.has(t.id) && (NEWS.has(t.status) || (t.status === 'RESERVED' && followed))))
    .map((e) => e.ticket)
    .sort((a, b) => (a.joinedAt < b.joinedAt ? 1 : -1));
}

export interface TicketStore {
  /** Undefined until the first load. */
  tickets: Ticket[] | undefined;
  error: unknown;
  /** Changes with every change of the tickets or their timers. */
  version: number;
  /** The live ticket of a product, if the customer has one. */
  liveFor(productId: number): Ticket | undefined;
  load(): Promise<void>;
  upsert(ticket: Ticket): void;
  dismiss(id: string): void;
  /** Asks about the tickets due (the stream is not open). */
  pollDue(): Promise<void>;
  /** When the next ticket is due, if any. */
  nextDue(): number | undefined;
}

/**
 * The page's tickets. `onChange` hears each ticket whose status changed (and each new one), with
 * what was known before, to tell the customer and fetch a reservation.
 */
export function useTicketStore(onChange: (next: Ticket, before: Ticket | undefined) => void): TicketStore {
  const entries = useRef(new Map<string, Entry>());
  const [dismissed, setDismissed] = useState(readDismissed);
  const [version, setVersion] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>();
  const changed = useRef(onChange);
  changed.current = onChange;

  const upsert = (ticket: Ticket) => {
    const known = entries.current.get(ticket.id);
    if (known && !isNewer(known.ticket, ticket)) return;
    const dueAt = ticket.pollAfterSeconds === null ? undefined : Date.now() + ticket.pollAfterSeconds * 1000;
    entries.current.set(ticket.id, { ticket, dueAt, followed: (known?.followed ?? false) || isLive(ticket) });
    setVersion((v) => v + 1);
    if (known?.ticket.status !== ticket.status) changed.current(ticket, known?.ticket);
  };

  const load = async () => {
    try {
      const answer = await api<{ items: Ticket[] }>('/tickets');
      for (const t of answer.items) upsert(t);
      setLoaded(true);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };

  /** The next question about a ticket waits `seconds` from now (an answer older than what is known sets no time). */
  const postpone = (id: string, seconds: number) => {
    const entry = entries.current.get(id);
    if (entry?.dueAt !== undefined) entries.current.set(id, { ...entry, dueAt: Date.now() + seconds * 1000 });
  };

  /** One ticket asked about; a failure is asked again soon (retryDelaySeconds). */
  const poll = async (entry: Entry) => {
    const { id } = entry.ticket;
    try {
      const answer = await api<Ticket>(`/tickets/${id}`);
      upsert(answer);
      postpone(id, answer.pollAfterSeconds ?? 1);
      const known = entries.current.get(id);
      if (known?.failures) entries.current.set(id, { ...known, failures: 0 });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        entries.current.delete(id);
        return;
      }
      const failures = (entries.current.get(id)?.failures ?? 0) + 1;
      const status = err instanceof ApiError ? err.status : 0;
      postpone(id, retryDelaySeconds(status, err instanceof ApiError ? err.retryAfter : undefined, entry.ticket.pollAfterSeconds, failures, Math.random()));
      const known = entries.current.get(id);
      if (known) entries.current.set(id, { ...known, failures });
    }
  };

  const due = () => [...entries.current.values()].filter((e) => e.dueAt !== undefined && isLive(e.ticket));

  const tickets = useMemo(() => shown(entries.current, dismissed), [version, dismissed]);

  return {
    tickets: loaded ? tickets : undefined,
    version,
    error,
    liveFor: (productId) => [...entries.current.values()].find((e) => e.ticket.productId === productId && isLive(e.ticket))?.ticket,
    load,
    upsert,
    dismiss(id) {
      const next = new Set(dismissed).add(id);
      setDismissed(next);
      try {
        localStorage.setItem(DISMISSED_KEY, JSON.stringify([...next].slice(-100)));
      } catch {
        // Dismissed for this page only.
      }
    },
    async pollDue() {
      const now = Date.now();
      for (const e of due()) if (e.dueAt! <= now) await poll(e);
      setVersion((v) => v + 1);
    },
    nextDue: () => {
      const times = due().map((e) => e.dueAt!);
      return times.length ? Math.min(...times) : undefined;
    },
  };
}

/**
 * While the stream is not open, asks about each live ticket when its answer said to (the stream,
 * when open, keeps them alive and brings their news). Timers run in a hidden tab too: a ticket must
 * stay alive while the page is open, whether or not it is looked at.
 */
export function useTicketPolling(store: TicketStore, stream: StreamState): void {
  const next = stream === 'open' ? undefined : store.nextDue();
  const latest = useRef(store);
  latest.current = store;
  useEffect(() => {
    if (next === undefined) return;
    // A little after the time, never before it: the server asked for no question sooner.
    const timer = setTimeout(() => void latest.current.pollDue(), Math.max(0, next - Date.now()) + 25);
    return () => clearTimeout(timer);
  }, [next, store.version]);
}
