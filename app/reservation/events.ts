/**
 * `GET /events`: server-sent events of what the caller may see. `reservation` events carry a
 * reservation (a customer's own, store staff their store's, an admin all) as `GET /reservations/{id}`
 * shows it, fed by the read model; `ticket` events carry a customer's places in line as
 * `GET /tickets/{id}` shows them, whenever one moves noticeably or changes state, and an open stream
 * keeps its customer's tickets alive. A stream ends when its token expires or is revoked; streams
 * are capped per token and per process. Described in the OpenAPI document, one event's shape as the
 * schema of `text/event-stream`, which the contract fuzzer checks event by event.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { getReservationView } from './repository.js';
import { liveTicketsOf } from '../launch/tickets.js';
import type { QueueTicket } from '../../db/schema.js';
import type { Principal } from '../../platform/auth.js';
import { canSee, type AppEnv } from '../../api/auth.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import type { Line, TicketView } from '../launch/line.js';
import { audienceKey, type Audience, type FeedChange, type ReservationFeed } from './feed.js';
import type { SaleBoard, SaleView } from '../launch/sale-board.js';
import type { TicketFeed } from '../launch/ticket-feed.js';
import { problems } from '../../api/schemas.js';
import { toReservationDto } from './mapping.js';

const KEEP_ALIVE_MS = 15_000;
/** Events a slow client may have waiting before it is dropped (it reconnects and reads the list). */
const MAX_QUEUED = 200;
/** How often an open stream checks that its token still stands (revocation; expiry ends it on time). */
const TOKEN_CHECK_MS = 5_000;

export interface EventStreams {
  routes: OpenAPIHono<AppEnv>;
  /** Ends every open stream (the API is stopping: it must not wait for them). */
  closeAll(): Promise<void>;
}

type Item = { kind: 'reservation'; change: FeedChange } | { kind: 'ticket'; ticket: QueueTicket };

interface Sources {
  feed: ReservationFeed;
  tickets: TicketFeed;
  board: SaleBoard;
  line: Line;
  isRevoked(jti: string): boolean;
}

/** Whether a ticket moved enough to be worth an event: its state or its sale's, or a tenth of the people ahead. */
function moved(before: TicketView | undefined, now: TicketView): boolean {
  if (!before || before.status !== now.status || before.position !== now.position || before.sale.state !== now.sale.state) return true;
  if ((before.estimatedWait === null) !== (now.estimatedWait === null)) return true;
  if (before.ahead === null || now.ahead === null) return before.ahead !== now.ahead;
  return Math.abs(before.ahead - now.ahead) >= Math.max(1, Math.floor(before.ahead / 10));
}

export function eventRoutes(deps: AppDeps, sources: Sources): EventStreams {
  const { feed, board, line } = sources;
  const app = new OpenAPIHono<AppEnv>();
  /** Open streams, each with what wakes its loop. */
  const open = new Map<SSEStreamingApi, () => void>();
  const perToken = new Map<string, number>();
  const caps = deps.rateLimits ?? { streamsPerToken: 3, streamsInAll: 20_000 };

  /** Claims a stream for the token, or refuses (the caps hold per process). */
  const admitStream = (principal: Principal) => {
    if (open.size >= caps.streamsInAll) throw new Problem(503, 'TOO_MANY_STREAMS', 'this server has as many event streams open as it keeps; poll the tickets and reservations instead', {}, { 'Retry-After': '30' });
    const key = principal.jti ?? `sub:${principal.sub}`;
    const n = perToken.get(key) ?? 0;
    if (n >= caps.streamsPerToken) {
      throw new Problem(429, 'TOO_MANY_STREAMS', `a token may keep ${caps.streamsPerToken} event streams open; close one first`, {}, { 'Retry-After': '5' });
    }
    perToken.set(key, n + 1);
    return () => {
      const left = (perToken.get(key) ?? 1) - 1;
      if (left > 0) perToken.set(key, left);
      else perToken.delete(key);
    };
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['events'],
      summary: 'Server-sent events: your reservations and places in line as they change',
      description:
        '`text/event-stream` that stays open: `ready` once connected; `reservation` events with a Reservation (as GET ' +
        '/reservations/{id}) whenever one you may see changes; for a customer, `ticket` events with a Ticket (as GET ' +
        '/tickets/{id}) when one of your places in line moves or changes state (an open stream keeps them alive); comments ' +
        'every 15 s. The stream ends when its token expires or is revoked. At most 3 open per token (429 TOO_MANY_STREAMS).',
      responses: {
        200: {
          description: 'The event stream',
          content: {
            'text/event-stream': {
              schema: z
                .object({
                  event: z.enum(['ready', 'reservation', 'ticket']),
                  data: z.string().openapi({ description: '`ready`: `{}`; `reservation`: a Reservation; `ticket`: a Ticket (JSON)' }),
                  id: z.string().optional(),
                })
                .openapi('ServerSentEvent', { description: 'One event of the stream (comments, the keep-alives, carry none)' }),
            },
          },
        },
        ...problems({ 429: 'TOO_MANY_STREAMS: this token has as many streams open as it may', 503: 'TOO_MANY_STREAMS: this server keeps no more' }),
      },
    }),
    (c) => {
      const principal = c.get('principal');
      const release = admitStream(principal);
      return streamSSE(c, async (stream) => {
        const queue: Item[] = [];
        let wake: (() => void) | undefined;
        const push = (item: Item) => {
          queue.push(item);
          wake?.();
        };
        open.set(stream, () => wake?.());
        const audience: Audience = principal.role === 'admin' ? 'everything' : principal.role === 'store' ? { storeId: principal.storeId } : { customerId: principal.sub };
        const unsubscribes = [feed.subscribe(audienceKey(audience), (change) => push({ kind: 'reservation', change }))];
        const watched = new Map<string, { ticket: QueueTicket; shown?: TicketView }>();
        if (principal.role === 'customer') unsubscribes.push(...(await watchTickets(principal.sub, watched, push)));
        stream.onAbort(() => wake?.());
        const keepAlive = setInterval(() => {
          void stream.write(': keep-alive\n\n').catch(() => undefined);
          for (const { ticket } of watched.values()) line.touch(ticket);
        }, KEEP_ALIVE_MS);
        const ended = () => (principal.exp !== undefined && principal.exp * 1000 <= Date.now()) || (principal.jti !== undefined && sources.isRevoked(principal.jti));
        const tokenCheck = setInterval(() => wake?.(), TOKEN_CHECK_MS);
        try {
          await stream.writeSSE({ event: 'ready', data: '{}' });
          while (!stream.aborted && !stream.closed && !ended()) {
            if (queue.length > MAX_QUEUED) break;
            const item = queue.shift();
            if (!item) {
              await new Promise<void>((resolve) => (wake = resolve));
              wake = undefined;
              continue;
            }
            if (item.kind === 'reservation') await send(stream, principal, item.change);
            else await sendTicket(stream, watched, item.ticket);
          }
        } finally {
          clearInterval(keepAlive);
          clearInterval(tokenCheck);
          for (const unsubscribe of unsubscribes) unsubscribe();
          open.delete(stream);
          release();
        }
      });
    },
  );

  /** A customer's places in line: those open now, then every one written or moved. */
  const watchTickets = async (customerId: string, watched: Map<string, { ticket: QueueTicket; shown?: TicketView }>, push: (item: Item) => void) => {
    const offFeed = sources.tickets.subscribe(customerId, (ticket) => push({ kind: 'ticket', ticket }));
    const offBoard = board.onChange((changed: SaleView[]) => {
      const products = new Set(changed.map((v) => v.id));
      for (const { ticket } of watched.values()) if (products.has(ticket.product_id)) push({ kind: 'ticket', ticket });
    });
    for (const ticket of await liveTicketsOf(deps.db, customerId)) push({ kind: 'ticket', ticket });
    return [offFeed, offBoard];
  };

  const sendTicket = async (stream: SSEStreamingApi, watched: Map<string, { ticket: QueueTicket; shown?: TicketView }>, ticket: QueueTicket) => {
    const known = watched.get(ticket.id);
    // A row read earlier than the one watched is not news.
    const current = known && known.ticket.updated_at > ticket.updated_at ? known.ticket : ticket;
    const view = line.view(current);
    if (!moved(known?.shown, view)) return;
    const finished = view.status !== 'WAITING' && view.status !== 'ADMITTED';
    if (finished) watched.delete(ticket.id);
    else watched.set(ticket.id, { ticket: current, shown: view });
    await stream.writeSSE({ event: 'ticket', id: `ticket:${view.id}:${view.status}`, data: JSON.stringify(view) });
  };

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
