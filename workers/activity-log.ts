/** One log line per completed activity, so a reservation can be followed through every step at LOG_LEVEL=info. */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Activity interceptor: logs "activity completed" with its duration through the activity's own
 * logger, which adds workflowId, activityType, attempt, … (and the runtime logger the reservationId).
 * Failures are already logged by the SDK ("Activity failed", WARN).
 */
export const activityCompletionLog: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const started = performance.now();
      const result = await next(input);
      ctx.log.info('activity completed', { durationMs: Math.round(performance.now() - started) });
      return result;
    },
  },
});
