import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { revokeToken } from '../revocation-repository.js';
import { requireRole, type AppEnv } from '../auth.js';
import type { AppDeps } from '../deps.js';
import type { RevocationList } from '../revocations.js';
import { chars, problems } from '../schemas.js';

const RevokeSchema = z
  .strictObject({
    // No control characters: PostgreSQL cannot hold NUL, and the rest have no place in a log line.
    jti: chars(128)
      .regex(/^[^\u0000-\u001f\u007f]+$/, '1 to 128 characters, no control characters')
      .openapi({ description: "The token's `jti` claim" }),
    until: z.iso.datetime({ offset: true }).optional().openapi({ description: "When the token expires anyway (its `exp`); default: the longest any token may live" }),
  })
  .openapi('TokenRevocation', { example: { jti: 'q0Yw2bq9uH0sVd4C' } });
const RevokedSchema = z.object({ jti: z.string(), until: z.string() }).openapi('RevokedToken');

/** Admin: revokes a bearer token by its `jti`; every API process refuses it within seconds. */
export function tokenRoutes(deps: AppDeps, revocations: RevocationList, longestTtlSeconds: number) {
  const app = new OpenAPIHono<AppEnv>();
  app.openapi(
    createRoute({
      method: 'post',
      path: '/revocations',
      tags: ['admin'],
      summary: 'Revoke a token (admin)',
      description: 'Refused at once by the API process that took the request, by every other within 5 s; remembered until `until`.',
      request: { body: { required: true, content: { 'application/json': { schema: RevokeSchema } } } },
      responses: { 201: { description: 'Revoked', content: { 'application/json': { schema: RevokedSchema } } }, ...problems({}, { body: true }) },
    }),
    async (c) => {
      const admin = requireRole(c, 'admin');
      const { jti, until } = c.req.valid('json');
      const end = until ? new Date(until) : new Date(Date.now() + longestTtlSeconds * 1000);
      await revokeToken(deps.db, { jti, revokedBy: admin.sub, until: end });
      revocations.remember(jti);
      deps.log.info('token revoked', { jti, by: admin.sub });
      return c.json({ jti, until: end.toISOString() }, 201);
    },
  );
  return app;
}
