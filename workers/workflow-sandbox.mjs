/**
 * Preloaded into the worker process (`node --import ./workers/workflow-sandbox.mjs …`, as
 * `npm run start:worker`, `npm start` and the container do): a preload on the command line is the
 * only way into the thread in which the Temporal SDK runs workflow code. Plain JavaScript, so that
 * it loads in any thread without a TypeScript loader. It acts only in threads, never in the main one.
 *
 * Two costs of the workflow sandbox paid on every workflow task can be turned off (shared/config.ts
 * validates the values):
 *
 * - WORKFLOW_STACK_TRACES=off: the SDK records a source-mapped stack trace for every promise the
 *   workflow code creates, for the `__stack_trace` query (the Web UI's "Stack Trace" tab). It does
 *   so only when V8's promise hooks can be installed; here they then cannot, so it skips the
 *   recording, and the query answers that stack traces are not enabled on this worker.
 * - WORKFLOW_CALL_TIMEOUT=off: each call into the sandbox is given a timeout (5 s), for which Node
 *   starts and joins a watchdog thread per call. Without it, a workflow that never yields (an
 *   endless loop) would hold the workflow thread instead of failing its workflow task.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** Lets the worker see that this preload was loaded (and warn when a setting is off without it). */
globalThis.__tshopWorkflowSandboxPreload = true;

if (!isMainThread) {
  if (process.env.WORKFLOW_STACK_TRACES === 'off') {
    v8.promiseHooks.createHook = () => {
      throw new Error('promise hooks are off in this workflow thread (WORKFLOW_STACK_TRACES=off)');
    };
  }
  if (process.env.WORKFLOW_CALL_TIMEOUT === 'off') {
    const withoutTimeout = (options) => {
      if (typeof options !== 'object' || options === null || options.timeout === undefined) return options;
      const { timeout: _ignored, ...rest } = options;
      return rest;
    };
    const runScript = vm.Script.prototype.runInContext;
    vm.Script.prototype.runInContext = function (context, options) {
      return runScript.call(this, context, withoutTimeout(options));
    };
    const runCode = vm.runInContext;
    vm.runInContext = (code, context, options) => runCode(code, context, withoutTimeout(options));
  }
}
