/** Starts one real PostgreSQL and one Temporal dev server for the whole run, and stops them after. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { parseConfig } from '../platform/config.js';
import { openDatabase } from '../db/open.js';
import { prepareDatabase } from '../db/prepare.js';
import { stackOptionsFrom, startStack } from '../dev/stack.js';
import { installNotifier, installNotifierTests } from '../dev/notifier.js';
import { ensureWebBundle } from '../web/build/bundle.js';
import { buildWorkflowBundle } from '../workers/bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
    /** The dev server's Web UI (empty when TEST_TEMPORAL_ADDRESS names another server and TEST_TEMPORAL_UI_URL is unset). */
    temporalUiUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-test-'));
  // Every fixed port of the tests and the bench lies below Linux's ephemeral range (32768–60999):
  // there, the source port of one of the suites' own client connections could take it first.
  const config = parseConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    PG_PORT: process.env.TEST_PG_PORT ?? '25432',
    TEMPORAL_PORT: process.env.TEST_TEMPORAL_PORT ?? '17233',
    TEMPORAL_UI_PORT: process.env.TEST_TEMPORAL_UI_PORT ?? '18233',
    TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH,
    PATH: process.env.PATH,
  });
  const say = (line: string) => console.log(`[test infra] ${line}`);
  // The notifier's venvs, once, before any file needs them (two installing at once would collide).
  installNotifier(say);
  installNotifierTests(say);
  // The web app's bundle where npm start and start:api serve it from, once (they would build it at once).
  await ensureWebBundle(path.resolve('dist/web'));
  const infra = await startStack({ ...stackOptionsFrom(config), parts: ['postgres', 'temporal'], say });
  try {
    const db = await openDatabase(infra.databaseUrl);
    await prepareDatabase(db, { seed: true }).finally(() => db.destroy());
    // One workflow bundle for every test file instead of one webpack run per worker.
    const workflowBundlePath = path.join(dataDir, 'workflow-bundle.js');
    await buildWorkflowBundle(workflowBundlePath);
    project.provide('databaseUrl', infra.databaseUrl);
    project.provide('temporalAddress', infra.temporalAddress);
    project.provide('workflowBundlePath', workflowBundlePath);
    project.provide('temporalUiUrl', infra.temporalUiUrl ?? process.env.TEST_TEMPORAL_UI_URL ?? '');
  } catch (err) {
    await infra.stop();
    throw err;
  }
  return async () => {
    await infra.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
