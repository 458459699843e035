/** Load shapes (closed and open loop) and latency statistics. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export interface LatencySummary {
  n: number;
  mean_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

export function summarize(latencies: number[]): LatencySummary {
  const s = [...latencies].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return {
    n: s.length,
    mean_ms: round1(mean),
    p50_ms: round1(percentile(s, 50)),
    p95_ms: round1(percentile(s, 95)),
    p99_ms: round1(percentile(s, 99)),
    max_ms: round1(s.at(-1) ?? NaN),
  };
}

/** The median of some numbers (the mean of the middle two for an even count), and their range. */
export function spread(values: number[]): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length === 0 ? NaN : s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}

export interface JobResult<T> {
  ms: number;
  value?: T;
  error?: unknown;
}

/** Runs `count` jobs with at most `concurrency` in flight; each job's latency and result, in order. */
export async function closedLoop<T>(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<T>,
  onProgress: (finished: number) => void = () => undefined,
): Promise<{ results: JobResult<T>[]; seconds: number }> {
  const results: JobResult<T>[] = new Array(count);
  let next = 0;
  let finished = 0;
  const started = performance.now();
  const client = async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      try {
        const value = await job(i);
        results[i] = { ms: performance.now() - t, value };
      } catch (error) {
        results[i] = { ms: performance.now() - t, error };
      }
      if (++finished % 50 === 0) onProgress(finished);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, client));
  return { results, seconds: (performance.now() - started) / 1000 };
}

/**
 * Sends `count` jobs on a fixed schedule (`rate` per second), whatever the server does. Latency is
 * counted from the scheduled time, so a slow server cannot hide its queue (no coordinated omission).
 */
export async function openLoop<T>(rate: number, count: number, job: (i: number) => Promise<T>): Promise<{ results: JobResult<T>[]; seconds: number }> {
  const results: JobResult<T>[] = new Array(count);
  const t0 = performance.now() + 50;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const scheduled = t0 + (i * 1000) / rate;
      await sleep(Math.max(0, scheduled - performance.now()));
      try {
        const value = await job(i);
        results[i] = { ms: performance.now() - scheduled, value };
      } catch (error) {
        results[i] = { ms: performance.now() - scheduled, error };
      }
    }),
  );
  return { results, seconds: (performance.now() - t0) / 1000 };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
