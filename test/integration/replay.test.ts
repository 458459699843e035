/**
 * Determinism: recorded histories of every lifecycle path replay against today's workflow code.
 * A change that would break reservations already running fails here. Recorded by
 * `npm run record:histories` (workflow.test.ts); see docs/versioning.md for when and how.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { expect, inject, it } from 'vitest';
import { HISTORIES_DIR } from '../helpers.js';

/** Every path through the reservation workflow, each recorded by workflow.test.ts under this name. */
const LIFECYCLE_PATHS = [
  'cancel-after-confirmation',
  'cancel-during-assignment',
  'cancel-during-decision',
  'complete-while-confirming',
  'completed',
  'completed-central-delivery',
  'fallback-central-delivery',
  'ignored-signals',
  'reassign-after-fallback',
  'redrive-finds-no-store',
  'rejected-out-of-stock',
  'rejected-stock-unavailable',
  'reminder-then-expiry',
  'temporal-cancellation',
];

// Today's shape at the top. Once a shape has shipped and a versioned change follows it, its
// histories move to a folder named after that change, and must replay too.
const files = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();
const current = files.filter((f) => !f.includes(path.sep));

it('has a recorded history for every lifecycle path, and none of a path that is not one', () => {
  expect(current.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([...LIFECYCLE_PATHS].sort());
});

it.each(files)('replays %s', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: file }, history, `replay-${file}`);
});
