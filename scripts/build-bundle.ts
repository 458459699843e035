/**
 * `npm run build:bundle [-- --out <file or directory>]`: bundles the workflow code (webpack) ahead of
 * time, as the container image does, so a worker started with WORKFLOW_BUNDLE_PATH skips it.
 * Default output: dist/workflow-bundle.js.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { StartupError } from './infra/process.js';
import { runMain, say } from './main.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
export const DEFAULT_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle.js');
const BUNDLE_FILE = path.basename(DEFAULT_BUNDLE_PATH);

/** Where `--out` points: a file, or a directory (existing, or written with a trailing slash) to put workflow-bundle.js in. */
export function resolveBundleOut(out: string | undefined): string {
  if (!out) return DEFAULT_BUNDLE_PATH;
  const resolved = path.resolve(out);
  const isDir = /[\\/]$/.test(out) || (() => {
    try {
      return statSync(resolved).isDirectory();
    } catch {
      return false;
    }
  })();
  return isDir ? path.join(resolved, BUNDLE_FILE) : resolved;
}

/** Bundles workflows/index.ts and writes the bundle to `outFile`; returns its size in bytes. */
export async function buildWorkflowBundle(outFile: string): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return Buffer.byteLength(code);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runMain('tshop-build-bundle', async () => {
    const i = process.argv.indexOf('--out');
    const out = i >= 0 ? process.argv[i + 1] : undefined;
    if (i >= 0 && !out) throw new StartupError('--out needs a file or directory');
    const outFile = resolveBundleOut(out);
    const bytes = await buildWorkflowBundle(outFile);
    say(`workflow bundle written to ${outFile} (${Math.round(bytes / 1024)} KiB)`);
    process.exit(0);
  });
}
