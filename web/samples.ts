/**
 * The launch desk's samples (`GET /launch-desk`, a product's figures every few seconds) as chart
 * series. A sample is taken whenever a product's figures move, so between two samples nothing
 * changed: every figure holds its value until the next sample.
 */
import type { LaunchDesk, Sample } from './types.js';

export interface Series {
  /** Seconds since the epoch (uPlot's time scale). */
  times: number[];
  /** Reservations in the minute before each time: the slope of `accepted`. */
  perMinute: number[];
  waiting: number[];
  stock: number[];
}

/**
 * Reservations in the minute before each sample: its `accepted` less that of the last sample a
 * minute or more before it (the first sample, near the start of the record).
 */
export function perMinute(samples: Sample[]): number[] {
  const times = samples.map((s) => Date.parse(s.at));
  let from = 0;
  return samples.map((s, i) => {
    while (from + 1 <= i && times[from + 1]! <= times[i]! - 60_000) from++;
    return Math.max(0, s.accepted - samples[from]!.accepted);
  });
}

/** The samples as chart series, carried on to `now` (nothing moved since the last one). */
export function seriesOf(samples: Sample[], now: string): Series {
  const last = samples.at(-1);
  const points = last && Date.parse(now) > Date.parse(last.at) + 1_000 ? [...samples, { ...last, at: now }] : samples;
  return {
    times: points.map((s) => Date.parse(s.at) / 1000),
    perMinute: perMinute(points),
    waiting: points.map((s) => s.waiting),
    stock: points.map((s) => s.stock),
  };
}

/** One row a minute (the minute's last sample) for the charts' table. */
export function byMinute(series: Series): { time: number; perMinute: number; waiting: number; stock: number }[] {
  const rows = new Map<number, { time: number; perMinute: number; waiting: number; stock: number }>();
  series.times.forEach((time, i) => {
    rows.set(Math.floor(time / 60), { time, perMinute: series.perMinute[i]!, waiting: series.waiting[i]!, stock: series.stock[i]! });
  });
  return [...rows.values()];
}

/** The product whose figures moved last: the one a launch is about. */
export function busiest(products: LaunchDesk['products']): number | undefined {
  let best: { id: number; at: string } | undefined;
  for (const p of products) {
    const at = p.samples.at(-1)?.at;
    if (at && (!best || at > best.at)) best = { id: p.id, at };
  }
  return best?.id;
}
