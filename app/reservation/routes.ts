/**
 * Reservations over HTTP (described in openapi.ts): each handler authorises its caller (the role, and
 * that the reservation is one they may see), calls the reservation service and answers with the
 * mapping; a refusal is the service's Problem, which the app answers as problem+json.
 */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import { queueAnswer } from '../launch/routes.js';
import type { Line } from '../launch/line.js';
import { toNotificationDto } from '../notification/mapping.js';
import { toReservationDto } from './mapping.js';
import { cancelRoute, completeRoute, getRoute, listRoute, notificationsRoute, patchRoute, reserveRoute } from './openapi.js';
import { reservationIdFor, type ReservationService } from './service.js';
import type { Principal } from '../../platform/auth.js';
import { canSee, requireRole, type AppEnv } from '../../api/auth.js';
import { Problem } from '../../api/errors.js';
import type { CancelReservationSchema, CompleteReservationSchema } from '../../api/schemas.js';

/** Reservations: reserve (synchronous stock decision), read, cancel, complete. */
export function reservationRoutes(service: ReservationService, line: Line) {
  const app = new OpenAPIHono<AppEnv>();

  /** The reservation if the caller may see it; one they may not see is as good as missing. */
  const loadVisible = async (principal: Principal, id: string) => {
    const view = await service.find(id);
    if (!view || !canSee(principal, view)) throw new Problem(404, 'NOT_FOUND', `no reservation ${id}`);
    return view;
  };

  app.openapi(reserveRoute, async (c) => {
    const principal = requireRole(c, 'customer', 'admin', 'store');
    const key = c.req.valid('header')['idempotency-key'];
    const reservationId = reservationIdFor(principal, key);
    c.set('reservationId', reservationId);
    const answer = await service.reserve(principal, c.req.valid('json'), { key, reservationId });
    if (answer.kind === 'queued') return queueAnswer(c, line, answer.ticket);
    c.header('Location', `/reservations/${answer.reservation.id}`);
    return c.json(toReservationDto(answer.reservation), 201);
  });

  app.openapi(listRoute, async (c) => {
    const principal = c.get('principal');
    const { limit, cursor, ...filter } = c.req.valid('query');
    // Customers see their own reservations, store staff their store's: a wider filter is refused.
    if (principal.role === 'customer') {
      if (filter.customerId !== undefined && filter.customerId !== principal.sub) throw new Problem(403, 'FORBIDDEN', 'customers list their own reservations only');
      filter.customerId = principal.sub;
    } else if (principal.role === 'store') {
      if (filter.storeId !== undefined && filter.storeId !== principal.storeId) throw new Problem(403, 'FORBIDDEN', "store staff list their store's reservations only");
      filter.storeId = principal.storeId;
    }
    const page = await service.list(filter, { limit, cursor });
    return c.json({ items: page.items.map((r) => toReservationDto(r)), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(completeRoute, async (c) => {
    const principal = requireRole(c, 'store', 'admin');
    const body = c.req.valid('json') as z.infer<typeof CompleteReservationSchema> | undefined;
    const current = await loadVisible(principal, c.req.valid('param').id);
    return c.json(toReservationDto(await service.complete(principal, current, { by: body?.by })), 202);
  });

  app.openapi(notificationsRoute, async (c) => {
    const { id } = c.req.valid('param');
    await loadVisible(c.get('principal'), id);
    return c.json({ items: (await service.notificationsOf(id)).map(toNotificationDto) }, 200);
  });

  app.openapi(getRoute, async (c) => c.json(toReservationDto(await loadVisible(c.get('principal'), c.req.valid('param').id)), 200));

  /** Cancels for its customer or an admin: the service's cancel, 202 with the reservation as it is now. */
  const cancel = async (principal: Principal, id: string, reason: string | undefined, key: string | undefined) =>
    toReservationDto(await service.cancel(principal, await loadVisible(principal, id), { reason, key }));

  app.openapi(cancelRoute, async (c) => {
    const principal = requireRole(c, 'customer', 'admin');
    const body = c.req.valid('json') as z.infer<typeof CancelReservationSchema> | undefined;
    return c.json(await cancel(principal, c.req.valid('param').id, body?.reason, c.req.valid('header')['idempotency-key']), 202);
  });

  app.openapi(patchRoute, async (c) => {
    const principal = requireRole(c, 'customer', 'admin');
    const { reason } = c.req.valid('json');
    return c.json(await cancel(principal, c.req.valid('param').id, reason, c.req.valid('header')['idempotency-key']), 202);
  });
  return app;
}
