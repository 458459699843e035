/**
 * Preloaded into the worker process (`node --import ./workers/workflow-sandbox.mjs …`, as
 * `npm run start:worker`, `npm start` and the container do): a preload on the command line is the
 * only way into the thread in which the Temporal SDK runs workflow code. Plain JavaScript, so that
 * it loads in any thread without a TypeScript loader. It acts only in threads, never in the main one.
 *
 * WORKFLOW_STACK_TRACES (shared/config.ts; `off` unless set to `on`): the SDK records a
 * source-mapped stack trace for every promise the workflow code creates, for the `__stack_trace`
 * query (the Web UI's "Stack Trace" tab), which cost a fifth of the worker's CPU per reservation
 * (docs/performance.md). It does so only when V8's promise hooks can be installed; with the
 * setting off they cannot here, so the SDK skips the recording and the query answers that stack
 * traces are not enabled on this worker.
 */
import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';

/** Lets the worker see that this preload was loaded (and warn when the setting is off without it). */
globalThis.__tshopWorkflowSandboxPreload = true;

if (!isMainThread && process.env.WORKFLOW_STACK_TRACES !== 'on') {
  v8.promiseHooks.createHook = () => {
    throw new Error('promise hooks are off in this workflow thread (WORKFLOW_STACK_TRACES is not on)');
  };
}
