/** The goals of issue #10, set next to what this run measured. Reported, never asserted. */
import type { Results } from './report.js';

type Goal = Results['goals'][number];

// The processes that make up the system (the bench's own are left out of its memory).
const SYSTEM = ['api', 'worker', 'notifier', 'temporal', 'postgres', 'assignment', 'infra launcher'];

const atMost = (goal: string, value: number, limit: number, unit: string): Goal => ({
  goal,
  target: `≤ ${limit}${unit}`,
  measured: `${Math.round(value * 10) / 10}${unit}`,
  met: value <= limit,
});

export function goals(r: Omit<Results, 'goals'>): Goal[] {
  const ours = r.cost.cpu_ms_per_item.ours ?? {};
  const cpuTotal = ['api', 'worker', 'notifier', 'temporal', 'postgres', 'assignment', 'load generator', 'infra launcher'].reduce((s, t) => s + (ours[t] ?? 0), 0);
  const b = r.burst;
  const idleRss = SYSTEM.reduce((s, t) => s + (r.idle.memory[t]?.rssKiB ?? 0), 0) / 1024;
  return [
    atMost('CPU per reservation, all processes', cpuTotal, 65, ' ms'),
    atMost('CPU per reservation, worker', ours.worker ?? NaN, 20, ' ms'),
    atMost('CPU per reservation, Temporal', ours.temporal ?? NaN, 30, ' ms'),
    { goal: 'burst: exactly the units accepted', target: `${b.units}`, measured: `${b.accepted}`, met: b.accepted === b.units },
    { goal: 'burst: workflows started (the excess starts none)', target: `${b.units}`, measured: `${b.workflows_started}`, met: b.workflows_started === b.units },
    { goal: 'burst: errors', target: '0', measured: `${b.errors}`, met: b.errors === 0 },
    atMost('burst: rejections p99', b.latency.rejections.p99_ms, 50, ' ms'),
    atMost('burst: accepted p99', b.latency.accepted.p99_ms, 2_000, ' ms'),
    atMost("seed's check p50", r.seed_check.p50_ms, 60, ' ms'),
    atMost("seed's check p99", r.seed_check.p99_ms, 150, ' ms'),
    { goal: 'throughput ours ÷ bare', target: '≥ 0.9', measured: `${r.ratios.throughput_ours_over_bare.value}`, met: r.ratios.throughput_ours_over_bare.value >= 0.9 },
    atMost('cancel → stock restored p99 at half the knee', r.cancel_at_rate.restored.p99_ms, 500, ' ms'),
    atMost('idle resident memory of the system (RSS sum; the goal is for npm start)', idleRss, 500, ' MiB'),
  ];
}
