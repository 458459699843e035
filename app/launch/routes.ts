/**
 * Places in line: a customer's tickets, each followed by polling it (which keeps it alive) until it
 * becomes a reservation or ends; leaving the line. Joining is `POST /products/{id}/tickets`, or a
 * reserve that had to queue.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { findTicket, leaveLine, recentTicketsOf } from './tickets.js';
import type { QueueTicket } from '../../db/schema.js';
import type { Principal } from '../../platform/auth.js';
import type { AppEnv } from '../../api/auth.js';
import type { AppDeps } from '../../api/deps.js';
import { Problem } from '../../api/errors.js';
import type { Line } from './line.js';
import { problems, TicketIdParam, TicketSchema } from '../../api/schemas.js';

/** A ticket as a join or a reserve answers it: 202, where to follow it, and when to ask. */
export async function queueAnswer(c: Context<AppEnv>, line: Line, ticket: QueueTicket) {
  const view = await line.show(ticket);
  c.header('Location', `/tickets/${ticket.id}`);
  if (view.pollAfterSeconds !== null) c.header('Retry-After', String(view.pollAfterSeconds));
  return c.json(view, 202);
}

const mayFollow = (p: Principal, t: QueueTicket) => p.role === 'admin' || (p.role === 'customer' && p.sub === t.customer_id);

export function ticketRoutes(deps: AppDeps, line: Line) {
  const app = new OpenAPIHono<AppEnv>();

  /** The ticket if the caller may follow it; one they may not is as good as missing. */
  const load = async (principal: Principal, id: string) => {
    const ticket = await line.find(id);
    if (!ticket || !mayFollow(principal, ticket)) throw new Problem(404, 'NOT_FOUND', `no ticket ${id}`);
    return ticket;
  };

  const ticketBody = (description: string) => ({
    description,
    headers: { 'Retry-After': { description: 'Seconds until it is worth asking again (while waiting)', schema: { type: 'integer' as const } } },
    content: { 'application/json': { schema: TicketSchema } },
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['line'],
      summary: 'Your places in line, newest first (ended ones included)',
      responses: {
        200: { description: 'Tickets', content: { 'application/json': { schema: z.object({ items: z.array(TicketSchema) }) } } },
        ...problems({}),
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const tickets = await recentTicketsOf(deps.db, principal.sub, 20);
      for (const t of tickets) line.touch(t);
      return c.json({ items: await Promise.all(tickets.map((t) => line.show(t))) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['line'],
      summary: 'Follow a place in line (asking keeps it alive)',
      description:
        'Where the ticket stands: its place, the people ahead and the estimated wait (from the measured admission rate) while ' +
        'WAITING; then ADMITTED, and RESERVED with its reservation, or SOLD_OUT, REFUSED, LAPSED, LEFT, CLOSED. Ask again after ' +
        '`Retry-After`: a ticket nobody asks about (and no event stream follows) lapses after its lease.',
      request: { params: TicketIdParam },
      responses: { 200: ticketBody('The ticket'), ...problems({ 404: 'No such ticket (of yours)' }) },
    }),
    async (c) => {
      const ticket = await load(c.get('principal'), c.req.valid('param').id);
      line.touch(ticket);
      const view = await line.show(ticket);
      if (view.pollAfterSeconds !== null) c.header('Retry-After', String(view.pollAfterSeconds));
      return c.json(view, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      tags: ['line'],
      summary: 'Leave the line',
      request: { params: TicketIdParam },
      responses: {
        200: { description: 'The ticket, LEFT', content: { 'application/json': { schema: TicketSchema } } },
        ...problems({ 404: 'No such ticket (of yours)', 409: 'TICKET_ENDED: it is no longer waiting (admitted, or ended)' }, { write: true }),
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const { id } = c.req.valid('param');
      const ticket = await load(principal, id);
      line.forget(id);
      if (!(await leaveLine(deps.db, id))) throw new Problem(409, 'TICKET_ENDED', `ticket ${id} is no longer waiting`, { ticketStatus: line.view(ticket).status });
      return c.json(await line.show((await findTicket(deps.db, id))!), 200);
    },
  );
  return app;
}
