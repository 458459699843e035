/**
 * The published contract is exact: schemathesis (pinned in test/contract/requirements.txt) fuzzes
 * every operation of `/openapi.json` with every one of its checks, as an admin, against the real
 * API, worker, Temporal and PostgreSQL; any finding fails the test with the fuzzer's report.
 * CONTRACT_SEED and CONTRACT_EXAMPLES vary the run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { listen } from '../../shared/http.js';
import { installPythonTool } from '../../dev/python.js';
import { ADMIN, testApp, tokenFor, useTestStack } from '../helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = path.join(root, 'test', 'contract');
// A database of its own: the fuzzer restocks, closes and reserves whatever ids it finds.
const stack = useTestStack({ ownDatabase: true });

it('every check of the contract fuzzer passes on every operation', { timeout: 600_000 }, async () => {
  const schemathesis = installPythonTool(path.join(root, '.tools', 'schemathesis'), 'schemathesis', ['-r', path.join(here, 'requirements.txt')]);
  expect(schemathesis, 'schemathesis could not be installed from PyPI into .tools/schemathesis').toBeDefined();
  const server = await listen(testApp(stack.db, stack.client, stack.worker.taskQueue).app.fetch, '127.0.0.1', 0, 'contract test API');
  try {
    const args = [
      '--config-file', path.join(here, 'schemathesis.toml'),
      'run', `${server.url}/openapi.json`,
      '--checks', 'all',
      '--header', `Authorization: Bearer ${await tokenFor(ADMIN)}`,
      '--max-examples', process.env.CONTRACT_EXAMPLES ?? '25',
      '--seed', process.env.CONTRACT_SEED ?? '20261126',
      // One thread: CPython 3.11.7's ast.parse (which hypothesis calls to describe a filter) is not
      // thread-safe (gh-106905): two workers crashed the fuzzer with "AST constructor recursion depth mismatch".
      '--workers', '1',
      '--no-color',
    ];
    const run = spawn(schemathesis!, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    run.stdout!.on('data', (d) => (out += d));
    run.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
    expect(out).toMatch(/generated, \d+ passed/);
    expect(code, out.slice(-6_000)).toBe(0);
  } finally {
    await server.close();
  }
});
