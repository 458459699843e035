/**
 * `npm run build:bundle [-- --out <file or directory>] [--tracing]`: bundles the workflow code
 * (webpack) ahead of time, as the container image does, so a worker started with
 * WORKFLOW_BUNDLE_PATH skips it. Default output: dist/workflow-bundle.js. With `--tracing` the
 * OpenTelemetry workflow interceptors are bundled in (dist/workflow-bundle-tracing.js), for
 * WORKFLOW_TRACING_BUNDLE_PATH. `--interceptor-module <path>` (repeatable) names interceptor
 * modules directly (scripts/bundle-cache.ts runs it so for a worker without a prebuilt bundle).
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { tracingWorkflowModules } from '../shared/tracing.js';
import { StartupError } from './infra/process.js';
import { runMain, say } from './main.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
export const DEFAULT_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle.js');
export const DEFAULT_TRACING_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle-tracing.js');

/** Where `--out` points: a file, or a directory (existing, or written with a trailing slash) to put workflow-bundle.js in. */
export function resolveBundleOut(out: string | undefined, tracing = false): string {
  const fallback = tracing ? DEFAULT_TRACING_BUNDLE_PATH : DEFAULT_BUNDLE_PATH;
  if (!out) return fallback;
  const resolved = path.resolve(out);
  const isDir = /[\\/]$/.test(out) || (() => {
    try {
      return statSync(resolved).isDirectory();
    } catch {
      return false;
    }
  })();
  return isDir ? path.join(resolved, path.basename(fallback)) : resolved;
}

/** Bundles workflows/index.ts and writes the bundle to `outFile`; returns its size in bytes. */
export async function buildWorkflowBundle(outFile: string, options: { tracing?: boolean; interceptorModules?: string[] } = {}): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
    workflowInterceptorModules: [...(options.tracing ? tracingWorkflowModules() : []), ...(options.interceptorModules ?? [])],
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
    const tracing = process.argv.includes('--tracing');
    const interceptorModules = process.argv.flatMap((a, j) => (a === '--interceptor-module' ? [process.argv[j + 1]!] : []));
    const outFile = resolveBundleOut(out, tracing);
    const bytes = await buildWorkflowBundle(outFile, { tracing, interceptorModules });
    say(`workflow bundle written to ${outFile} (${Math.round(bytes / 1024)} KiB)`);
    process.exit(0);
  });
}
