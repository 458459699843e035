/** Small hooks shared by the pages: page visibility, polling while visible, the event stream, announcements. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { openEventStream, type StreamState } from './events.js';
import { getSession, signOut } from './session.js';
import type { Reservation, Ticket } from './types.js';

function usePageVisible(): boolean {
  const [visible, setVisible] = useState(document.visibilityState === 'visible');
  useEffect(() => {
    const update = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}

/**
 * Calls `fn` now and every `intervalMs` while the page is visible (and `enabled`); a hidden page
 * polls nothing and catches up as soon as it is shown again. One call at a time.
 */
export function usePolling(fn: (signal: AbortSignal) => Promise<void>, intervalMs: number, enabled = true): void {
  const visible = usePageVisible();
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!visible || !enabled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await latest.current(controller.signal);
      } catch {
        // The page shows its own error; polling goes on.
      }
      if (!controller.signal.aborted) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [visible, enabled, intervalMs]);
}

export interface StreamListeners {
  reservation(r: Reservation): void;
  /** A customer's place in line moved or changed state. */
  ticket?(t: Ticket): void;
  /** Connected (again): reload what is shown, since changes made meanwhile were not sent. */
  ready(): void;
}

/** The events of the signed-in caller, with the stream's state for the page to show. */
export function useEventStream(listeners: StreamListeners): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const latest = useRef(listeners);
  latest.current = listeners;
  useEffect(
    () =>
      openEventStream({
        token: () => getSession()?.token,
        onReservation: (r) => latest.current.reservation(r),
        onTicket: (t) => latest.current.ticket?.(t),
        onReady: () => latest.current.ready(),
        onState: setState,
        onUnauthorized: () => signOut('sessionExpired'),
      }),
    [],
  );
  return state;
}

/** The time now, again every `everyMs` (countdowns); one timer per component that shows it. */
export function useNow(everyMs = 1_000, enabled = true): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!enabled) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, enabled]);
  return now;
}

/** Says something to screen-reader users through the app's polite live region. */
const announcers = new Set<(text: string) => void>();
export function announce(text: string): void {
  for (const a of announcers) a(text);
}
export function useAnnouncement(): string {
  const [text, setText] = useState('');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const say = (next: string) => {
      // Cleared first, so the same sentence twice is announced twice.
      setText('');
      clearTimeout(timer);
      timer = setTimeout(() => setText(next), 50);
    };
    announcers.add(say);
    return () => {
      announcers.delete(say);
      clearTimeout(timer);
    };
  }, []);
  return text;
}

/** A countdown in whole seconds (Retry-After): 0 once over. */
export function useCountdown(): [number, (seconds: number) => void] {
  const [left, setLeft] = useState(0);
  const until = useRef(0);
  const running = left > 0;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setLeft(Math.max(0, Math.ceil((until.current - Date.now()) / 1000))), 250);
    return () => clearInterval(timer);
  }, [running]);
  return [
    left,
    (seconds: number) => {
      until.current = Date.now() + seconds * 1000;
      setLeft(seconds);
    },
  ];
}
