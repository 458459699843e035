/**
 * Reading a process tree's memory from /proc (Linux only), for cmd/bench-memory.ts: which processes
 * descend from a root pid, what part of the stack each one is, and its RSS and PSS.
 */
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';

export type Part = 'npm' | 'launcher' | 'postgres' | 'temporal' | 'assignment' | 'esbuild' | 'other';

export interface ProcMemory {
  pid: number;
  ppid: number;
  part: Part;
  command: string;
  /** KiB, from /proc/<pid>/smaps_rollup. */
  rssKiB: number;
  /** Proportional set size: shared pages divided among the processes that map them. */
  pssKiB: number;
  pssAnonKiB: number;
  pssFileKiB: number;
  pssShmemKiB: number;
  threads: number;
  /** CPU time used so far (user + system), ms. */
  cpuMs: number;
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** Parent pid from /proc/<pid>/stat (the field after the parenthesised command name). */
function parentOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}

/** Every live pid whose ancestry leads to `root`, `root` included. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (read(`/proc/${pid}/stat`) === undefined) continue;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function executable(pid: number): string {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return '';
  }
}

/** Which part of the `npm start` stack a process is, by its executable and command line. */
export function classify(pid: number): { part: Part; command: string } {
  const command = (read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ').trim();
  const exe = executable(pid);
  const part: Part =
    exe === 'postgres' || command.startsWith('postgres:') ? 'postgres'
    : exe === 'temporal' || command.includes(' server start-dev') ? 'temporal'
    : exe === 'esbuild' || /\besbuild\b.*--service/.test(command) ? 'esbuild'
    : command.includes('cmd/assignment') || command.includes('api/assignment/main') ? 'assignment'
    : /scripts\/start\.(ts|js)/.test(command) ? 'launcher'
    : /\bnpm(-cli\.js)?\b/.test(command) ? 'npm'
    : 'other';
  return { part, command };
}

/** The smaps_rollup fields we report, in KiB (undefined if the process is gone or unreadable). */
function rollup(pid: number): Record<string, number> | undefined {
  const text = read(`/proc/${pid}/smaps_rollup`);
  if (!text) return undefined;
  const fields: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) fields[m[1]!] = Number(m[2]);
  }
  return fields;
}

function threadCount(pid: number): number {
  const m = /^Threads:\s+(\d+)/m.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) : 0;
}

// USER_HZ is 100 on every Linux this runs on.
const TICK_MS = 10;

/** utime + stime from /proc/<pid>/stat, in ms. */
function cpuMs(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** RSS and PSS of every process under `root` (processes that vanish meanwhile are skipped). */
export function snapshot(root: number): ProcMemory[] {
  const out: ProcMemory[] = [];
  for (const pid of descendants(root)) {
    const r = rollup(pid);
    const ppid = parentOf(pid);
    if (!r || ppid === undefined) continue;
    out.push({
      pid,
      ppid,
      ...classify(pid),
      rssKiB: r.Rss ?? 0,
      pssKiB: r.Pss ?? 0,
      pssAnonKiB: r.Pss_Anon ?? 0,
      pssFileKiB: r.Pss_File ?? 0,
      pssShmemKiB: r.Pss_Shmem ?? 0,
      threads: threadCount(pid),
      cpuMs: cpuMs(pid),
    });
  }
  return out;
}

export interface PartTotals {
  part: Part;
  processes: number;
  rssMiB: number;
  pssMiB: number;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** Sums per part, in the order parts first appear, plus a `total` row. */
export function totals(procs: ProcMemory[]): { parts: PartTotals[]; total: { rssMiB: number; pssMiB: number } } {
  const byPart = new Map<Part, { processes: number; rss: number; pss: number }>();
  for (const p of procs) {
    const t = byPart.get(p.part) ?? { processes: 0, rss: 0, pss: 0 };
    byPart.set(p.part, { processes: t.processes + 1, rss: t.rss + p.rssKiB, pss: t.pss + p.pssKiB });
  }
  const parts = [...byPart].map(([part, t]) => ({ part, processes: t.processes, rssMiB: mib(t.rss), pssMiB: mib(t.pss) }));
  const sum = (k: 'rssKiB' | 'pssKiB') => mib(procs.reduce((s, p) => s + p[k], 0));
  return { parts, total: { rssMiB: sum('rssKiB'), pssMiB: sum('pssKiB') } };
}

/** The [start, end) address ranges of `pid` that have resident pages, from /proc/<pid>/smaps. */
function residentRanges(pid: number): [number, number][] {
  const ranges: [number, number][] = [];
  let current: [number, number] | undefined;
  for (const line of (read(`/proc/${pid}/smaps`) ?? '').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (header) current = [Number.parseInt(header[1]!, 16), Number.parseInt(header[2]!, 16)];
    else if (current && /^Rss:\s+[1-9]/.test(line)) ranges.push(current);
  }
  return ranges;
}

const PAGE = 4096;
const PRESENT = 1n << 63n;
const PFN_MASK = (1n << 55n) - 1n;

/** Adds the physical frame numbers of `pid`'s resident pages to `frames` (needs root for the PFNs). */
function addFrames(pid: number, frames: Set<bigint>): void {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return;
  }
  try {
    for (const [start, end] of residentRanges(pid)) {
      const buf = Buffer.alloc(((end - start) / PAGE) * 8);
      const n = readSync(fd, buf, 0, buf.length, (start / PAGE) * 8);
      for (let off = 0; off + 8 <= n; off += 8) {
        const entry = buf.readBigUInt64LE(off);
        if (entry & PRESENT && entry & PFN_MASK) frames.add(entry & PFN_MASK);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The physical memory the processes hold together, in KiB: every resident page counted once, however
 * many of them map it, and in full even when a process outside the stack maps it too (which PSS
 * would split with that outsider). Undefined when the frame numbers are unreadable (not root).
 */
export function uniqueResidentKiB(pids: number[]): number | undefined {
  const frames = new Set<bigint>();
  for (const pid of pids) addFrames(pid, frames);
  return frames.size === 0 ? undefined : (frames.size * PAGE) / 1024;
}
