/**
 * The server-sent events of `GET /events`, read with fetch (EventSource cannot send the bearer
 * token): `ready` once connected, then `reservation` with the reservation's JSON whenever one the
 * caller may see changes, `ticket` with a customer's place in line whenever it moves or changes
 * state (an open stream also keeps those places alive), and keep-alive comments every 15 s. The connection is opened again with
 * exponential backoff (and jitter) whenever it drops or stays silent too long; a 401 ends the session.
 */
import { SseParser } from './sse.js';
import type { Reservation, Ticket } from './types.js';

export type StreamState = 'connecting' | 'open' | 'retrying' | 'stopped';

export interface StreamHandlers {
  /** The current token (read at every connection). */
  token(): string | undefined;
  onReservation(reservation: Reservation): void;
  onTicket?(ticket: Ticket): void;
  /** Connected (again): changes made while disconnected were not sent, so reload what is shown. */
  onReady?(): void;
  onState?(state: StreamState): void;
  onUnauthorized(): void;
}

export interface StreamOptions {
  /** Reconnect when nothing (not even a keep-alive) arrived for this long. */
  idleTimeoutMs?: number;
  /** First reconnection delay; doubled per failed attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Opens the stream; the returned function closes it for good. */
export function openEventStream(handlers: StreamHandlers, options: StreamOptions = {}): () => void {
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  let stopped = false;
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;
  let attempt = 0;
  let lastEventId = '';
  let serverRetryMs: number | undefined;

  const setState = (state: StreamState) => handlers.onState?.(state);

  const connect = async () => {
    const token = handlers.token();
    if (!token) {
      stopped = true;
      setState('stopped');
      handlers.onUnauthorized();
      return;
    }
    controller = new AbortController();
    const abort = controller;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), idleTimeoutMs);
    };
    const parser = new SseParser(
      (event) => {
        if (event.event === 'ready') {
          attempt = 0;
          setState('open');
          handlers.onReady?.();
        } else if (event.event === 'reservation' || event.event === 'ticket') {
          try {
            const data: unknown = JSON.parse(event.data);
            if (event.event === 'reservation') handlers.onReservation(data as Reservation);
            else handlers.onTicket?.(data as Ticket);
          } catch {
            // A malformed event is skipped; the next reload shows the truth.
          }
        }
      },
      () => undefined,
    );
    try {
      touch();
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const res = await fetch('/events', { headers, cache: 'no-store', signal: abort.signal });
      if (res.status === 401) {
        stopped = true;
        setState('stopped');
        handlers.onUnauthorized();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        parser.push(decoder.decode(value, { stream: true }));
      }
      parser.push(decoder.decode());
      parser.end();
    } catch {
      // Dropped, timed out or refused: retried below.
    } finally {
      clearTimeout(idle);
      lastEventId = parser.lastEventId || lastEventId;
      serverRetryMs = parser.retryMs ?? serverRetryMs;
    }
  };

  const run = async () => {
    setState('connecting');
    while (!stopped) {
      await connect();
      if (stopped) return;
      setState('retrying');
      const base = serverRetryMs ?? options.baseDelayMs ?? 1_000;
      const delay = Math.min(maxDelayMs, base * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
      attempt++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  // Back online: try at once instead of waiting out the backoff.
  const online = () => wake?.();
  window.addEventListener('online', online);
  void run();
  return () => {
    stopped = true;
    window.removeEventListener('online', online);
    controller?.abort();
    wake?.();
  };
}
