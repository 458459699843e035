/**
 * The seed's own check: two users reserving back to back for a while, each request a customer of
 * its own (its own token, with a verified phone number of its own, as every real user's) and
 * exactly the seed's body, `{"productId": "<id>"}` (the id as a string), on a product with stock.
 * A new customer per request because one customer may hold one unit and send 10 writes a minute:
 * one customer reserving back to back would be refused LIMIT_REACHED from the second request on.
 * The latencies are those of the 201s (each token is signed before its request's clock starts).
 */
import { waitForCount, waitUntilSettled, type Ctx } from '../context.js';
import { summarize, type LatencySummary } from '../load.js';

export interface SeedCheckResult extends LatencySummary {
  users: number;
  seconds: number;
  /** Requests not answered 201 (nor counted in the latencies). */
  errors: number;
  error_examples: string[];
}

const USERS = 2;

export async function seedCheck(ctx: Ctx, seconds: number): Promise<SeedCheckResult> {
  await waitUntilSettled(ctx, 'seed check');
  const product = await ctx.api.newProduct(1_000_000);
  const latencies: number[] = [];
  const examples = new Set<string>();
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const user = async () => {
    while (performance.now() < until) {
      const call = await ctx.api.newCustomer('seed');
      const t = performance.now();
      const r = await call('POST', '/reservations', { productId: String(product) }).catch((err: unknown) => String(err).slice(0, 160));
      const ms = performance.now() - t;
      if (typeof r !== 'string' && r.status === 201) {
        latencies.push(ms);
        continue;
      }
      errors++;
      if (examples.size < 3) examples.add(typeof r === 'string' ? r : `${r.status} ${typeof r.body.code === 'string' ? r.body.code : JSON.stringify(r.body).slice(0, 120)}`);
    }
  };
  await Promise.all(Array.from({ length: USERS }, user));
  // Their assignments finish before the next scenario starts.
  await waitForCount(ctx, 'seed check', product, 'CONFIRMED', latencies.length, 120_000);
  return { users: USERS, seconds, errors, error_examples: [...examples], ...summarize(latencies) };
}
