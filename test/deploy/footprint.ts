/**
 * What the compose stack weighs: each image's size, and each container's resident memory: the sum
 * over its processes of their proportional set size (Pss in /proc/<pid>/smaps_rollup, read from the
 * host), so that memory shared between processes (PostgreSQL's shared buffers in each backend) is
 * counted once, and page cache is not counted as cgroup figures would. With DEPLOY_RESULTS=<file> the figures are written there with the commit and
 * whether the checkout was clean, for docs/deployment.md to cite.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, root, type Engine } from './engine.js';
import type { Stack } from './stack.js';

function descendants(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => {
    const file = `/proc/${pid}/task/${task}/children`;
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
  });
  return [pid, ...children.flatMap(descendants)];
}

const pssKiB = (pid: number) => Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);

export interface Footprint {
  images: Record<string, number>;
  containers: Record<string, number>;
}

export function footprint(engine: Engine, stack: Stack): Footprint {
  const project = stack.env.COMPOSE_PROJECT_NAME!;
  const names = stack.compose(['ps', '--format', '{{.Name}}'], { quiet: true }).trim().split('\n');
  const containers: Record<string, number> = {};
  for (const name of names) {
    const pid = Number(cli(engine, ['inspect', '--format', '{{.State.Pid}}', name]).trim());
    const kib = descendants(pid).reduce((sum, p) => sum + pssKiB(p), 0);
    containers[name.slice(project.length + 1)] = Math.round(kib / 1024);
  }
  // Every image of the file, the one-shot jobs' and the profiles' too.
  const all = stack.compose(['--profile', '*', 'config', '--images'], { quiet: true }).trim().split('\n');
  const short = (image: string) => image.replace(/^(localhost|docker\.io\/library)\//, '');
  const images: Record<string, number> = {};
  for (const image of new Set(all.map(short))) {
    images[image] = Math.round(Number(cli(engine, ['image', 'inspect', '--format', '{{.Size}}', image]).trim()) / 1e6);
  }
  return { images, containers };
}

export function record(result: Footprint & Record<string, unknown>): void {
  const file = process.env.DEPLOY_RESULTS;
  if (!file) return;
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  const body = { commit: git('rev-parse', 'HEAD'), clean: git('status', '--porcelain') === '', measuredAt: new Date().toISOString(), ...result };
  writeFileSync(path.resolve(root, file), `${JSON.stringify(body, null, 2)}\n`);
}
