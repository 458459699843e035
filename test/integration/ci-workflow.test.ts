/**
 * The GitHub Actions workflow has never run on GitHub: actionlint (pinned, `go install`ed once into
 * .tools/actionlint) checks it here, and it must run the same tiers as .ci/run, the CI that does run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { isExecutable } from '../../dev/python.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ACTIONLINT_VERSION = 'v1.7.12';
const workflow = path.join(root, '.github/workflows/ci.yml');

function installActionlint(): string {
  const bin = path.join(root, '.tools', 'actionlint', ACTIONLINT_VERSION, 'actionlint');
  if (isExecutable(bin)) return bin;
  const go = spawnSync('go', ['install', `github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`], {
    env: { ...process.env, GOBIN: path.dirname(bin), GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (go.status !== 0 || !isExecutable(bin)) throw new Error(`go install actionlint failed: ${go.stderr}`);
  return bin;
}

let actionlint: string;
beforeAll(() => {
  actionlint = installActionlint();
}, 320_000);

interface Step {
  run?: string;
  uses?: string;
}

describe('.github/workflows/ci.yml', () => {
  it('passes actionlint', () => {
    const result = spawnSync(actionlint, ['-no-color', workflow], { cwd: root, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails actionlint on a broken workflow (the check can fail)', () => {
    const broken = readFileSync(workflow, 'utf8').replace('timeout-minutes: 60', 'timeout-minutes: sixty');
    expect(broken).toContain('sixty');
    const result = spawnSync(actionlint, ['-no-color', '-'], { cwd: root, input: broken, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
  });

  it('runs the tiers .ci/run runs', () => {
    const ci = readFileSync(path.join(root, '.ci/run'), 'utf8');
    const tiers = ['npm ci', 'npm test', 'npm run test:deploy'];
    for (const tier of tiers) expect(ci.split('\n').map((l) => l.trim())).toContain(tier);
    const jobs = (parse(readFileSync(workflow, 'utf8')) as { jobs: Record<string, { steps: Step[] }> }).jobs;
    const commands = Object.values(jobs).flatMap((j) => j.steps.flatMap((s) => (s.run ?? '').split('\n').map((l) => l.trim())));
    for (const tier of tiers) expect(commands, tier).toContain(tier);
  });
});
