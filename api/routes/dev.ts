/**
 * Development sign-in for the web app: pick a demo customer, a store's staff or the launch desk
 * and get a token. Mounted only when the dev stack asks for it (`DEV_LOGIN`, set by `npm start`,
 * refused with NODE_ENV=production), and answering only callers on this host: to anyone else, and
 * anywhere else, the routes do not exist (404), and sign-in is the identity provider's.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { getConnInfo } from '@hono/node-server/conninfo';
import { DEMO_CUSTOMERS, demoNameFor, demoPhoneFor } from '../../db/data/demo.js';
import { signToken, type Principal } from '../../platform/auth.js';
import { isLoopback } from '../../platform/http.js';
import { normalizePhone } from '../../platform/phone.js';
import { CENTRAL_STORE } from '../../app/reservation/contract.js';
import { AssignmentServiceUnavailable } from '../../app/assignment/client.js';
import type { AppEnv } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { Problem } from '../errors.js';
import { CUSTOMER_ID_PATTERN, jsonBody, problems, retryLater, STORE_ID_PATTERN } from '../schemas.js';
import { IdentitiesSchema, LoginAnswerSchema } from './dev-schema.js';

/** How long a development token lives: a working day, within every role's limit. */
const DEV_TOKEN_TTL_S = 3_600;
const DEMO_ADMIN = 'admin-demo';

// A subject and a store of the shapes the rest of the contract takes them in: a token for any other
// would be refused, or carry its subject into every request it makes.
const LoginSchema = z
  .discriminatedUnion('role', [
    z.object({ role: z.literal('customer'), sub: z.string().regex(CUSTOMER_ID_PATTERN, 'letters, digits and . _ @ : - only') }),
    z.object({ role: z.literal('store'), store: z.string().regex(STORE_ID_PATTERN, 'a store id') }),
    z.object({ role: z.literal('admin') }),
  ])
  .openapi('DevLogin');

/** A demo customer's token says who they are as an identity provider's would: a name (if known) and a verified number. */
function demoCustomer(sub: string): Principal {
  const name = demoNameFor(sub);
  return { role: 'customer', sub, phone: normalizePhone(demoPhoneFor(sub))!, ...(name ? { name } : {}) };
}

/** The caller's address on the connection; none when the app is called without a server (tests). */
function remoteAddress(c: Parameters<typeof getConnInfo>[0]): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

export function devRoutes(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  // The socket's own address, not X-Forwarded-For: a token for any identity is for this host's user.
  app.use('*', async (c, next) => {
    if (!isLoopback(remoteAddress(c))) throw new Problem(404, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
    await next();
  });
  // The dealer stores, from the assignment service; while it is down, undefined (customers still sign in).
  const stores = async () => {
    try {
      const all = await deps.assignment.listStores();
      return all.filter((s) => !s.central).map((s) => ({ id: s.id, name: s.name })).sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      if (err instanceof AssignmentServiceUnavailable) return undefined;
      throw err;
    }
  };

  /** Who one may sign in as. */
  app.openapi(
    createRoute({
      method: 'get',
      path: '/identities',
      tags: ['development'],
      security: [],
      summary: 'Demo identities to sign in as (development stack only)',
      responses: {
        200: {
          description: 'Demo customers, the stores (for their staff) and the launch desk',
          content: {
            'application/json': {
              schema: IdentitiesSchema,
            },
          },
        },
      },
    }),
    async (c) => c.json({ customers: DEMO_CUSTOMERS.map((d) => ({ ...d })), stores: (await stores()) ?? [], admin: { sub: DEMO_ADMIN } }, 200),
  );

  /** A token for a demo identity. */
  app.openapi(
    createRoute({
      method: 'post',
      path: '/login',
      tags: ['development'],
      security: [],
      summary: 'Sign in as a demo identity (development stack only)',
      request: { body: jsonBody(LoginSchema) },
      responses: {
        200: {
          description: 'A bearer token of an hour',
          content: {
            'application/json': {
              schema: LoginAnswerSchema,
            },
          },
        },
        ...problems({ 422: 'UNKNOWN_STORE: no store (other than the central online one) has this id', 503: retryLater('SERVICE_UNAVAILABLE: a store sign-in while the assignment service is down') }, { body: true }),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      let principal: Principal;
      if (body.role === 'store') {
        const all = await stores();
        if (!all) throw new Problem(503, 'SERVICE_UNAVAILABLE', 'the assignment service is unavailable, so no store can be checked; customers and the desk can sign in', {}, { 'Retry-After': '5' });
        const known = all.some((s) => s.id === body.store) && body.store !== CENTRAL_STORE.id;
        if (!known) throw new Problem(422, 'UNKNOWN_STORE', `store ${body.store} does not exist`);
        principal = { role: 'store', sub: `staff-${body.store}`, storeId: body.store };
      } else {
        principal = body.role === 'admin' ? { role: 'admin', sub: DEMO_ADMIN } : demoCustomer(body.sub);
      }
      const token = await signToken(deps.authSecret, principal, DEV_TOKEN_TTL_S);
      const expiresAt = new Date(Date.now() + DEV_TOKEN_TTL_S * 1000).toISOString();
      return c.json({ token, role: principal.role, sub: principal.sub, ...(principal.role === 'store' ? { store: principal.storeId } : {}), expiresAt }, 200);
    },
  );
  return app;
}
