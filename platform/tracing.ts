/**
 * Optional OpenTelemetry tracing through Temporal's interceptors: off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. When on, the API's client spans, the workflow's spans and the
 * activities' spans share one trace per reservation and go to `<endpoint>/v1/traces` (OTLP/HTTP).
 */
import { createRequire } from 'node:module';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import type * as TraceBase from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type * as TraceNode from '@opentelemetry/sdk-trace-node';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type * as TemporalOtel from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { Config } from './config.js';

const require = createRequire(import.meta.url);

/**
 * The OpenTelemetry packages, loaded on first use: with tracing off (the default) a process never
 * loads them, which spares every process their memory. `require` keeps startTracing synchronous.
 */
function otel() {
  return {
    ...(require('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp),
    ...(require('@opentelemetry/resources') as typeof Resources),
    ...(require('@opentelemetry/sdk-trace-base') as typeof TraceBase),
    ...(require('@opentelemetry/sdk-trace-node') as typeof TraceNode),
    temporal: require('@temporalio/interceptors-opentelemetry') as typeof TemporalOtel,
  };
}

interface Tracing {
  provider: NodeTracerProvider;
  processor: SpanProcessor;
  resource: Resource;
  temporal: ReturnType<typeof otel>['temporal'];
}
let tracing: Tracing | undefined;

/** Where spans are posted for an OTLP base endpoint (as the OTLP spec derives the traces URL). */
function tracesUrl(endpoint: string): string {
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
    const { BatchSpanProcessor, NodeTracerProvider, OTLPTraceExporter, Resource, temporal } = otel();
    const resource = new Resource({ 'service.name': config.tracing.serviceName ?? defaultServiceName });
    const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(endpoint) }), { scheduledDelayMillis: 1_000 });
    const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
    // Global tracer provider, W3C propagation and an AsyncLocalStorage context manager.
    provider.register();
    tracing = { provider, processor, resource, temporal };
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
  return tracing ? [new tracing.temporal.OpenTelemetryWorkflowClientInterceptor()] : [];
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
  const { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } = tracing.temporal;
  return {
    activity: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    workflowModules: tracingWorkflowModules(),
    sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
  };
}
