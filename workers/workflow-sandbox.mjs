/**
 * Preloaded (`--import`) into the thread in which the Temporal SDK runs workflow code; see
 * `workflowSandboxPreload` in workers/worker.ts, which adds it only when a setting below is off.
 * Plain JavaScript, so that it loads in any thread without a TypeScript loader.
 *
 * Two costs of the workflow sandbox are paid on every workflow task; the URL's query turns them off:
 *
 * - `stackTraces=off`: the SDK records a source-mapped stack trace for every promise workflow code
 *   creates, for the `__stack_trace` query (the Web UI's "Stack Trace" tab). It does so only when
 *   V8's promise hooks can be installed; here they cannot, so the SDK skips the recording (the
 *   query then answers that stack traces are unavailable).
 * - `callTimeout=off`: each call into the sandbox is given a timeout (isolateExecutionTimeout,
 *   5 s), for which Node starts and joins a watchdog thread per call. Without it, a workflow that
 *   never yields (an endless loop) would hold this thread instead of failing its workflow task.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

const settings = new URL(import.meta.url).searchParams;

if (!isMainThread) {
  if (settings.get('stackTraces') === 'off') {
    v8.promiseHooks.createHook = () => {
      throw new Error('promise hooks are off in this workflow thread (stack traces off)');
    };
  }
  if (settings.get('callTimeout') === 'off') {
    const runInContext = vm.Script.prototype.runInContext;
    vm.Script.prototype.runInContext = function (context, options) {
      if (options?.timeout === undefined) return runInContext.call(this, context, options);
      const { timeout: _ignored, ...rest } = options;
      return runInContext.call(this, context, rest);
    };
    const runInContextOfVm = vm.runInContext;
    vm.runInContext = (code, context, options) => {
      if (typeof options !== 'object' || options?.timeout === undefined) return runInContextOfVm(code, context, options);
      const { timeout: _ignored, ...rest } = options;
      return runInContextOfVm(code, context, rest);
    };
  }
}
