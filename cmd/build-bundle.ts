/**
 * `npm run build:bundle [-- --out <file or directory>] [--tracing]`: bundles the workflow code
 * (webpack) ahead of time, as the container image does, so a worker started with
 * WORKFLOW_BUNDLE_PATH skips it. Default output: dist/workflow-bundle.js. With `--tracing` the
 * OpenTelemetry workflow interceptors are bundled in (dist/workflow-bundle-tracing.js), for
 * WORKFLOW_TRACING_BUNDLE_PATH. `--interceptor-module <path>` (repeatable) names interceptor
 * modules directly (workers/bundle-cache.ts runs it so for a worker without a prebuilt bundle).
 */
import { runMain, say } from '../shared/run-main.js';
import { StartupError } from '../shared/process.js';
import { buildWorkflowBundle, resolveBundleOut } from '../workers/bundle.js';

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
