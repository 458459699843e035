/**
 * What the development sign-in (dev.ts) answers, apart from its routes: the web app takes its types
 * from here without type-checking the server's Node modules.
 */
import { z } from '@hono/zod-openapi';

/** Whom one may sign in as: demo customers, the stores (for their staff) and the launch desk. */
export const IdentitiesSchema = z.object({
  customers: z.array(z.object({ sub: z.string(), name: z.string(), phone: z.string(), district: z.string() })),
  stores: z.array(z.object({ id: z.string(), name: z.string() })),
  admin: z.object({ sub: z.string() }),
});

export const LoginAnswerSchema = z.object({
  token: z.string(),
  role: z.enum(['customer', 'store', 'admin']),
  sub: z.string(),
  store: z.string().optional(),
  expiresAt: z.string(),
});
