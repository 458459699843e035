/**
 * `GET /events`: server-sent events of the reservations the caller may see (a customer their own,
 * store staff their store's, an admin all), each a `reservation` event with the reservation as
 * `GET /reservations/{id}` shows it, fed by the read model. Not in the OpenAPI document: a stream
 * that never ends is not a request/response operation (and would hang a contract fuzzer).
 */
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { getReservationView } from '../../db/repositories/reservations.js';
import type { Principal } from '../../shared/auth.js';
import { canSee, type AppEnv } from '../auth.js';
import type { AppDeps } from '../deps.js';
import type { Audience, FeedChange, ReservationFeed } from '../reservation-feed.js';
import { toReservationDto } from './reservations.js';

const KEEP_ALIVE_MS = 15_000;
/** Events a slow client may have waiting before it is dropped (it reconnects and reads the list). */
const MAX_QUEUED = 200;

export interface EventStreams {
  routes: Hono<AppEnv>;
  /** Ends every open stream (the API is stopping: it must not wait for them). */
  closeAll(): Promise<void>;
}

export function eventRoutes(deps: AppDeps, feed: ReservationFeed): EventStreams {
  const app = new Hono<AppEnv>();
  /** Open streams, each with what wakes its loop. */
  const open = new Map<SSEStreamingApi, () => void>();

  app.get('/', (c) => {
    const principal = c.get('principal');
    return streamSSE(c, async (stream) => {
      const queue: FeedChange[] = [];
      let wake: (() => void) | undefined;
      open.set(stream, () => wake?.());
      const audience: Audience = principal.role === 'admin' ? 'everything' : principal.role === 'store' ? { storeId: principal.storeId } : { customerId: principal.sub };
      const unsubscribe = feed.subscribe(audience, (change) => {
        queue.push(change);
        wake?.();
      });
      stream.onAbort(() => wake?.());
      const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), KEEP_ALIVE_MS);
      try {
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (!stream.aborted && !stream.closed) {
          if (queue.length > MAX_QUEUED) break;
          const change = queue.shift();
          if (!change) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          await send(stream, principal, change);
        }
      } finally {
        clearInterval(keepAlive);
        unsubscribe();
        open.delete(stream);
      }
    });
  });

  // The feed hands every listener the same change object: its view is read once, whoever listens.
  const views = new WeakMap<FeedChange, ReturnType<typeof getReservationView>>();
  const viewOf = (change: FeedChange) => {
    let view = views.get(change);
    if (!view) views.set(change, (view = getReservationView(deps.db, change.id)));
    return view;
  };

  /** One reservation as the API shows it, if the caller still may see it. */
  const send = async (stream: SSEStreamingApi, principal: Principal, change: FeedChange) => {
    const view = await viewOf(change);
    if (!view || !canSee(principal, view)) return;
    await stream.writeSSE({ event: 'reservation', id: `${view.id}:${view.version}`, data: JSON.stringify(toReservationDto(view)) });
  };

  return {
    routes: app,
    async closeAll() {
      await Promise.all(
        [...open].map(async ([stream, wakeUp]) => {
          await stream.close();
          wakeUp();
        }),
      );
    },
  };
}
