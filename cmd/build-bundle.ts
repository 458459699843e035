/**
 * `npm run build:bundle [-- --out <file or directory>] [--tracing]`: bundles the workflow code
 * (webpack) ahead of time, as the container image does, so a worker started with
 * WORKFLOW_BUNDLE_PATH skips it. Default output: dist/workflow-bundle.js. With `--tracing` the
 * OpenTelemetry workflow interceptors are bundled in (dist/workflow-bundle-tracing.js), for
 * WORKFLOW_TRACING_BUNDLE_PATH. `--interceptor-module <path>` (repeatable) names interceptor
 * modules directly (workers/bundle-cache.ts runs it so for a worker without a prebuilt bundle).
 */
import { parseArgs } from 'node:util';
import { runMain, say } from '../platform/run-main.js';
import { buildWorkflowBundle, resolveBundleOut } from '../workers/bundle.js';

runMain('tshop-build-bundle', async () => {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, tracing: { type: 'boolean', default: false }, 'interceptor-module': { type: 'string', multiple: true, default: [] } },
  });
  const { out, tracing, 'interceptor-module': interceptorModules } = values;
  const outFile = resolveBundleOut(out, tracing);
  const bytes = await buildWorkflowBundle(outFile, { tracing, interceptorModules });
  say(`workflow bundle written to ${outFile} (${Math.round(bytes / 1024)} KiB)`);
  process.exit(0);
});
