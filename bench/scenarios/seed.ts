/**
 * The seed's own check: two users reserving back to back for a while, each with a customer token and
 * exactly the seed's body, `{"productId": "<id>"}` (the id as a string), on a product with stock.
 */
import { waitForCount, waitUntilSettled, type Ctx } from '../context.js';
import { summarize, type LatencySummary } from '../load.js';

export interface SeedCheckResult extends LatencySummary {
  users: number;
  seconds: number;
  errors: number;
}

const USERS = 2;

export async function seedCheck(ctx: Ctx, seconds: number): Promise<SeedCheckResult> {
  await waitUntilSettled(ctx, 'seed check');
  const product = await ctx.api.newProduct(1_000_000);
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const user = async (n: number) => {
    const call = await ctx.api.customer(`seed-user-${n}`);
    while (performance.now() < until) {
      const t = performance.now();
      const r = await call('POST', '/reservations', { productId: String(product) }).catch(() => undefined);
      latencies.push(performance.now() - t);
      if (r?.status !== 201) errors++;
    }
  };
  await Promise.all(Array.from({ length: USERS }, (_, n) => user(n + 1)));
  // Their assignments finish before the next scenario starts.
  await waitForCount(ctx, 'seed check', product, 'CONFIRMED', latencies.length - errors, 120_000);
  return { users: USERS, seconds, errors, ...summarize(latencies) };
}
