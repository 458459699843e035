/**
 * What one poll costs by itself. The launch's own figures mix joins, polls and decisions; here,
 * once the launch is over, tickets told SOLD_OUT are asked about again at a steady rate, as a waiting
 * page asks: the API answers from its copy of the ticket and the sale board, without a read, the
 * path a place still waiting takes too. A quiet spell of the same length just before is the
 * background (board reads, schedules) taken off.
 */
import type { Ctx } from '../context.js';
import type { Call } from '../http.js';
import { sleep, summarize, type LatencySummary } from '../load.js';
import { cpuMsBetween, cpuTicks } from '../procfs.js';

export interface PollCost {
  polls: number;
  rate_per_s: number;
  seconds: number;
  errors: number;
  /** CPU ms per poll of each process, the quiet spell's rate taken off. */
  per_poll_ms: Record<string, number>;
  /** The same summed over the system's processes (the load generator excluded). */
  system_per_poll_ms: number;
  latency: LatencySummary;
}

export interface Asked {
  call: Call;
  ticketId: string;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function pollCost(ctx: Ctx, asked: Asked[], systemTrees: string[], ratePerSecond = 400, seconds = 8): Promise<PollCost | undefined> {
  if (asked.length === 0) return undefined;
  ctx.progress(`poll cost: a quiet spell of ${seconds} s …`);
  const quietFrom = cpuTicks(ctx.roots);
  const quietStart = performance.now();
  await sleep(seconds * 1000);
  const quiet = cpuMsBetween(quietFrom, cpuTicks(ctx.roots));
  const quietS = (performance.now() - quietStart) / 1000;

  ctx.progress(`poll cost: ${ratePerSecond} polls a second for ${seconds} s …`);
  const n = ratePerSecond * seconds;
  const latencies: number[] = [];
  let errors = 0;
  const from = cpuTicks(ctx.roots);
  const start = performance.now();
  const one = async (i: number) => {
    const { call, ticketId } = asked[i % asked.length]!;
    const t = performance.now();
    try {
      const answer = await call('GET', `/tickets/${ticketId}`);
      if (answer.status === 200) latencies.push(performance.now() - t);
      else errors++;
    } catch {
      errors++;
    }
  };
  await Promise.all(Array.from({ length: n }, (_, i) => sleep((i / ratePerSecond) * 1000).then(() => one(i))));
  const busy = cpuMsBetween(from, cpuTicks(ctx.roots));
  const busyS = (performance.now() - start) / 1000;
  const per = Object.fromEntries(Object.entries(busy).map(([tree, ms]) => [tree, round3(Math.max(0, ms - ((quiet[tree] ?? 0) * busyS) / quietS) / n)]));
  return {
    polls: n,
    rate_per_s: ratePerSecond,
    seconds: Math.round(busyS * 10) / 10,
    errors,
    per_poll_ms: per,
    system_per_poll_ms: round3(systemTrees.reduce((s, t) => s + (per[t] ?? 0), 0)),
    latency: summarize(latencies),
  };
}
