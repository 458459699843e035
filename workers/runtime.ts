/**
 * The process's one Temporal Runtime (it can be installed only once): the SDK's logs, workflow and
 * activity logs included, become JSON lines through platform/log.ts, and the SDK's metrics are served
 * in Prometheus format on an internal loopback port that the worker's /metrics endpoint merges.
 */
import { createServer } from 'node:net';
import type { LogLevel as SdkLogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { reservationIdOfWorkflow } from '../app/reservation/contract.js';
import type { LogLevel, Logger } from '../platform/log.js';

const LEVELS: Record<SdkLogLevel, LogLevel> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * The SDK's logger interface over platform/log.ts: one JSON line per event, with the SDK's metadata
 * (workflowId, activityType, sdkComponent, …) as fields and the reservationId derived from the workflow id.
 */
class JsonSdkLogger implements SdkLogger {
  constructor(private readonly out: Logger) {}

  log(level: SdkLogLevel, message: string, meta?: LogMetadata): void {
    // The activity task token is a long opaque blob; the ids next to it say the same.
    const { taskToken: _taskToken, ...fields } = (meta ?? {}) as Record<string, unknown>;
    const reservationId = fields.reservationId ?? reservationIdOfWorkflow(fields.workflowId);
    this.out[LEVELS[level] ?? 'info'](message, reservationId === undefined ? fields : { reservationId, ...fields });
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** A free TCP port on the loopback interface (for the SDK's internal metrics listener). */
async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let installed: { sdkMetricsUrl: string } | undefined;

/**
 * Installs the Temporal Runtime for this process (once; a second call returns the first result):
 * signals stay with the launcher, SDK logs go to `log` at its level (SDK Core's own at WARN and up),
 * SDK metrics to an internal Prometheus listener at the returned URL.
 */
export async function installRuntime(log: Logger, level: LogLevel): Promise<{ sdkMetricsUrl: string }> {
  if (installed) return installed;
  const port = await freeLoopbackPort();
  Runtime.install({
    // The launcher owns signal handling, so it can stop the worker before the server it talks to.
    shutdownSignals: [],
    logger: new JsonSdkLogger(log),
    telemetryOptions: {
      logging: { filter: { core: level === 'error' ? 'ERROR' : 'WARN', other: 'ERROR' }, forward: {} },
      metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } },
    },
  });
  installed = { sdkMetricsUrl: `http://127.0.0.1:${port}/metrics` };
  return installed;
}

/** The SDK's internal Prometheus URL, once `installRuntime` ran in this process. */
export function sdkMetricsUrl(): string | undefined {
  return installed?.sdkMetricsUrl;
}
