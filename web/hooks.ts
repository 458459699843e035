/** Small hooks shared by the pages: page visibility, polling while visible, the event stream, announcements. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { openEventStream, type StreamState } from './events.js';
import { getSession, signOut } from './session.js';
import type { Reservation } from './types.js';

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

/** The reservation events of the signed-in caller, with the stream's state for the page to show. */
export function useReservationStream(onReservation: (r: Reservation) => void, onReady: () => void): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const handlers = useRef({ onReservation, onReady });
  handlers.current = { onReservation, onReady };
  useEffect(
    () =>
      openEventStream({
        token: () => getSession()?.token,
        onReservation: (r) => handlers.current.onReservation(r),
        onReady: () => handlers.current.onReady(),
        onState: setState,
        onUnauthorized: () => signOut('sessionExpired'),
      }),
    [],
  );
  return state;
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
