/** Bundles the workflow code (webpack) ahead of time; `cmd/build-bundle.ts` is its command line. */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { tracingWorkflowModules } from '../platform/tracing.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
const DEFAULT_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle.js');
const DEFAULT_TRACING_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle-tracing.js');

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

/** Bundles workers/workflows.ts and writes the bundle to `outFile`; returns its size in bytes. */
export async function buildWorkflowBundle(outFile: string, options: { tracing?: boolean; interceptorModules?: string[] } = {}): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workers', 'workflows.ts'),
    workflowInterceptorModules: [...(options.tracing ? tracingWorkflowModules() : []), ...(options.interceptorModules ?? [])],
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return Buffer.byteLength(code);
}
