/**
 * CPU time and memory of named process trees, read from Linux's /proc. Stateless: snapshot, then
 * diff. A tree is a root pid plus its descendants; a process belongs to the nearest root among its
 * ancestors (itself included), so trees nested in one another (the bench started every part) are
 * each counted once.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (normally 100). */
export const CLK_TCK = getconf('CLK_TCK', 100);
const PAGE_KIB = getconf('PAGESIZE', 4096) / 1024;

function getconf(name: string, fallback: number): number {
  try {
    return Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim()) || fallback;
  } catch {
    return fallback;
  }
}

/** Named roots, e.g. { api: 1234, postgres: 1200 }. */
export type Roots = Record<string, number>;
/** CPU clock ticks per tree. */
export type Ticks = Record<string, number>;

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime of the live process (all its threads). */
  ownTicks: number;
  /** cutime + cstime: children it has reaped. */
  reapedTicks: number;
}

/** One process's /proc/<pid>/stat, or undefined if it is gone. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state) of proc(5): field n is fields[n - 3].
  const field = (n: number) => Number(fields[n - 3]);
  return {
    pid,
    ppid: field(4),
    comm: text.slice(text.indexOf('(') + 1, close),
    ownTicks: field(14) + field(15),
    reapedTicks: field(16) + field(17),
  };
}

/** Every live process. */
export function listProcesses(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) all.set(stat.pid, stat);
  }
  return all;
}

/** The pids of each tree: every live process whose nearest root ancestor is that tree's root. */
export function members(roots: Roots, procs = listProcesses()): Record<string, number[]> {
  const nameOf = new Map(Object.entries(roots).map(([name, pid]) => [pid, name]));
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(roots).map((name) => [name, []]));
  for (const p of procs.values()) {
    for (let pid: number | undefined = p.pid, hops = 0; pid && hops < 64; pid = procs.get(pid)?.ppid, hops++) {
      const name = nameOf.get(pid);
      if (name !== undefined) {
        out[name]!.push(p.pid);
        break;
      }
    }
  }
  return out;
}

/** The command names in each tree, with how many processes run each (e.g. postgres ×13, esbuild ×1). */
export function commandsOf(roots: Roots): Record<string, Record<string, number>> {
  const procs = listProcesses();
  const out: Record<string, Record<string, number>> = {};
  for (const [name, pids] of Object.entries(members(roots, procs))) {
    out[name] = {};
    for (const pid of pids) {
      const comm = procs.get(pid)!.comm;
      out[name][comm] = (out[name][comm] ?? 0) + 1;
    }
  }
  return out;
}

/** CPU ticks used so far by each tree: its live processes, plus the children its root has reaped. */
export function cpuTicks(roots: Roots): Ticks {
  const procs = listProcesses();
  const trees = members(roots, procs);
  const out: Ticks = {};
  for (const [name, pids] of Object.entries(trees)) {
    const own = pids.reduce((sum, pid) => sum + procs.get(pid)!.ownTicks, 0);
    out[name] = own + (procs.get(roots[name]!)?.reapedTicks ?? 0);
  }
  return out;
}

/** Milliseconds of CPU per tree between two snapshots (trees missing from either are left out). */
export function cpuMsBetween(before: Ticks, after: Ticks): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, ticks] of Object.entries(after)) {
    if (before[name] !== undefined) out[name] = ((ticks - before[name]!) * 1000) / CLK_TCK;
  }
  return out;
}

export interface TreeMemory {
  /** Sum of the processes' resident sets (shared pages counted in each). */
  rssKiB: number;
  /** Sum of proportional set sizes: shared pages split between their users, so sums add up. NaN: not read. */
  pssKiB: number;
  processes: number;
}

/** Resident set of one process from statm: cheap (0 if it is gone). */
export function processRssKiB(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_KIB;
  } catch {
    return 0;
  }
}

/**
 * Proportional set size of one process from smaps_rollup (0 if it is gone). Costly: the kernel walks
 * every mapping, a few milliseconds for a Node process, charged to the reader.
 */
export function processPssKiB(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Resident memory of each tree, summed over its live processes; PSS only when asked (see processPssKiB). */
export function treeMemory(roots: Roots, withPss = true): Record<string, TreeMemory> {
  return membersMemory(members(roots), withPss);
}

/** The same for trees whose members are already known (finding them scans all of /proc). */
export function membersMemory(trees: Record<string, number[]>, withPss: boolean): Record<string, TreeMemory> {
  const out: Record<string, TreeMemory> = {};
  for (const [name, pids] of Object.entries(trees)) {
    out[name] = {
      rssKiB: pids.reduce((s, pid) => s + processRssKiB(pid), 0),
      pssKiB: withPss ? pids.reduce((s, pid) => s + processPssKiB(pid), 0) : NaN,
      processes: pids.length,
    };
  }
  return out;
}

const larger = (a: number, b: number) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b));

/** Keeps, per tree, the largest RSS and PSS seen (each on its own: they may peak at different times). */
export function maxMemory(peak: Record<string, TreeMemory>, now: Record<string, TreeMemory>): Record<string, TreeMemory> {
  const out = { ...peak };
  for (const [name, m] of Object.entries(now)) {
    const p = out[name];
    out[name] = p ? { rssKiB: larger(p.rssKiB, m.rssKiB), pssKiB: larger(p.pssKiB, m.pssKiB), processes: Math.max(p.processes, m.processes) } : m;
  }
  return out;
}
