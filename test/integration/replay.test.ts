/**
 * Determinism: recorded histories of every lifecycle path replay against today's workflow code.
 * A change that would break reservations already running fails here. After an intentional,
 * versioned change (guarded by `patched()`), re-record with `npm run record:histories`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { expect, inject, it } from 'vitest';
import { HISTORIES_DIR } from '../helpers.js';

// Today's paths at the top; histories recorded by earlier workflow code (still running somewhere)
// stay in sub-folders named after the change that came next, and must replay too.
const files = readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).sort();
const current = files.filter((f) => !f.includes(path.sep));

it('has a recorded history for every lifecycle path', () => {
  expect(current.map((f) => f.replace(/\.json$/, ''))).toEqual(
    expect.arrayContaining([
      'completed',
      'rejected-out-of-stock',
      'rejected-stock-unavailable',
      'cancel-during-decision',
      'cancel-during-assignment',
      'cancel-after-confirmation',
      'temporal-cancellation',
      'fallback-central-delivery',
      'reminder-then-expiry',
      'reassign-after-fallback',
      'complete-while-confirming',
    ]),
  );
});

it.each(files)('replays %s', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, replayName: file }, history, `replay-${file}`);
});
