/** The goals of issue #10 and of launch day, set next to what this run measured. Reported, never asserted. */
import { hasPhases, TREE_ORDER, type PhaseFigures, type Results } from './report.js';
import type { LaunchResult } from './scenarios/launch.js';

type Goal = Results['goals'][number];

// The processes that make up the system (the bench's own are left out of its memory).
const SYSTEM = ['api', 'worker', 'notifier', 'temporal', 'temporal postgres', 'postgres', 'assignment', 'infra launcher'];

const atMost = (goal: string, value: number, limit: number, unit: string): Goal => ({
  goal,
  target: `≤ ${limit}${unit}`,
  measured: `${Math.round(value * 10) / 10}${unit}`,
  met: value <= limit,
});

const exactly = (goal: string, value: number, target: number): Goal => ({ goal, target: `${target}`, measured: `${value}`, met: value === target });

/** Launch day, per launch: the thresholds of the launch-day brief (bench/README.md). */
function launchGoals(l: LaunchResult): Goal[] {
  const on = (goal: string) => `launch ${l.label}: ${goal}`;
  // Both orders admit by place; a lottery's places must also be the ones its published seed gives.
  const seedOk = l.draw !== undefined && l.draw.seed_matches_digest && l.draw.digest_published_before_joins;
  const order = [
    exactly(on('admitted ahead of an earlier place still waiting'), l.order_check.out_of_order, 0),
    ...(l.draw
      ? [
          exactly(on('draw recomputed from seed and tickets: places differing (published + stored)'), l.draw.published_order_mismatches + l.draw.stored_position_mismatches, 0),
          { goal: on('sha256(seed) = the digest published before the joins'), target: 'yes', measured: seedOk ? 'yes' : 'no', met: seedOk },
        ]
      : []),
  ];
  return [
    exactly(on('units accepted'), l.accepted, l.units),
    exactly(on('errors'), l.errors, 0),
    exactly(on('workflows started (read model)'), l.workflows.read_model, l.units),
    exactly(on('workflows started (Temporal, by ProductId)'), l.workflows.temporal, l.units),
    atMost(on('join p99'), l.join_latency.all.p99_ms, 50, ' ms'),
    ...order,
    atMost(on('CPU of the system per customer without a unit'), l.cpu.per_customer_without_unit_ms, 3, ' ms'),
    exactly(on('customers or phone numbers holding more than the limit'), l.limit.customers_over_limit + l.limit.phones_over_limit, 0),
  ];
}

export function goals(r: Omit<Results, 'goals'>): Goal[] {
  return [...(hasPhases(r) ? phaseGoals(r) : []), ...r.launch.flatMap(launchGoals)];
}

function phaseGoals(r: Omit<Results, 'goals'> & PhaseFigures): Goal[] {
  const ours = r.cost.cpu_ms_per_item.ours ?? {};
  const cpuTotal = TREE_ORDER.reduce((s, t) => s + (ours[t] ?? 0), 0);
  // The dev server keeps its SQLite in its own process: the real server's own PostgreSQL is part of Temporal's cost.
  const temporal = (ours.temporal ?? NaN) + (ours['temporal postgres'] ?? 0);
  const b = r.burst;
  const idleRss = SYSTEM.reduce((s, t) => s + (r.idle.memory[t]?.rssKiB ?? 0), 0) / 1024;
  return [
    atMost('CPU per reservation, all processes', cpuTotal, 65, ' ms'),
    atMost('CPU per reservation, worker', ours.worker ?? NaN, 20, ' ms'),
    atMost('CPU per reservation, Temporal', temporal, 30, ' ms'),
    { goal: 'burst: exactly the units accepted', target: `${b.units}`, measured: `${b.accepted}`, met: b.accepted === b.units },
    { goal: 'burst: workflows started (the excess starts none)', target: `${b.units}`, measured: `${b.workflows_started}`, met: b.workflows_started === b.units },
    { goal: 'burst: errors', target: '0', measured: `${b.errors}`, met: b.errors === 0 },
    atMost('burst: rejections p99', b.latency.rejections.p99_ms, 50, ' ms'),
    atMost('burst: accepted p99', b.latency.accepted.p99_ms, 2_000, ' ms'),
    atMost("seed's check p50", r.seed_check.p50_ms, 60, ' ms'),
    atMost("seed's check p99", r.seed_check.p99_ms, 150, ' ms'),
    { goal: 'throughput ours ÷ bare', target: '≥ 0.9', measured: `${r.ratios.throughput_ours_over_bare.value}`, met: r.ratios.throughput_ours_over_bare.value >= 0.9 },
    atMost('cancel → stock restored p99 at half the knee', r.cancel_at_rate.restored.p99_ms, 500, ' ms'),
    atMost('change → its message settled p99 at half the knee', r.sustained.notified.p99_ms, 2_000, ' ms'),
    atMost('idle resident memory of the system (RSS sum; the goal is for npm start)', idleRss, 500, ' MiB'),
  ];
}
