/**
 * Optional OpenTelemetry tracing through Temporal's interceptors: off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. When on, the API's client spans, the workflow's spans and the
 * activities' spans share one trace per reservation and go to `<endpoint>/v1/traces` (OTLP/HTTP).
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { Config } from './config.js';

const require = createRequire(import.meta.url);

interface Tracing {
  provider: NodeTracerProvider;
  processor: SpanProcessor;
  resource: Resource;
}
let tracing: Tracing | undefined;

/** Where spans are posted for an OTLP base endpoint (as the OTLP spec derives the traces URL). */
export function tracesUrl(endpoint: string): string {
  return new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();
}

/**
 * Starts tracing for this process when configured (once; later calls reuse it); returns whether it
 * is on and a `shutdown` that flushes the spans still buffered.
 */
export function startTracing(config: Config, defaultServiceName: string): { enabled: boolean; shutdown(): Promise<void> } {
  const endpoint = config.tracing.otlpEndpoint;
  if (!endpoint) return { enabled: false, shutdown: async () => undefined };
  if (!tracing) {
    const resource = new Resource({ 'service.name': config.tracing.serviceName ?? defaultServiceName });
    const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(endpoint) }), { scheduledDelayMillis: 1_000 });
    const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
    // Global tracer provider, W3C propagation and an AsyncLocalStorage context manager.
    provider.register();
    tracing = { provider, processor, resource };
  }
  const current = tracing;
  return {
    enabled: true,
    shutdown: async () => {
      if (tracing !== current) return;
      tracing = undefined;
      await current.provider.shutdown();
    },
  };
}

/** Whether `startTracing` turned tracing on in this process. */
export function tracingEnabled(): boolean {
  return tracing !== undefined;
}

/** Client interceptors for a Temporal Client (empty when tracing is off). */
export function tracingClientInterceptors(): WorkflowClientInterceptor[] {
  return tracing ? [new OpenTelemetryWorkflowClientInterceptor()] : [];
}

/** The workflow interceptor module that traces inside workflows; it must be bundled with the workflow code. */
export function tracingWorkflowModules(): string[] {
  return [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];
}

/**
 * The worker's share (undefined when tracing is off): activity interceptors, the workflow
 * interceptor module (which must be bundled with the workflow code) and the sink its spans leave by.
 */
export function tracingWorkerOptions():
  | { activity: ActivityInterceptorsFactory[]; workflowModules: string[]; sinks: NonNullable<WorkerOptions['sinks']> }
  | undefined {
  if (!tracing) return undefined;
  return {
    activity: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    workflowModules: tracingWorkflowModules(),
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}
