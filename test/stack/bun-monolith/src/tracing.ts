// Tracing set-up for the Bun monolith: the OpenTelemetry JS SDK's
// BasicTracerProvider with a batching OTLP/HTTP exporter and a ParentBased
// sampler, and the W3C trace-context propagator. NodeSDK and the Node
// instrumentations hook node:http, which Bun.serve and Bun's fetch do not go
// through, so app.ts and http-client.ts create the spans and move the
// context themselves, passing it explicitly (no context manager needed).
//
// Environment:
//   TELEMETRY_ENABLED        true (default) / false: false installs no SDK and
//                            no propagator; nothing is recorded or injected
//   TELEMETRY_PROPAGATE      true (default) / false: false keeps the spans but
//                            never injects traceparent into outbound calls
//   TELEMETRY_SAMPLE_RATE    ratio for new traces [1]; a caller's sampled flag
//                            decides for continued ones
//   TELEMETRY_COLLECTOR_URL  where to send spans (a URL without a path gets
//                            /v1/traces); else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT;
//                            else TELEMETRY_BACKEND: jaeger -> localhost:4318,
//                            tempo -> the collector on localhost:4319
//   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*

import { propagation, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource, detectResources, envDetector, resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface Tracing {
  tracer: Tracer;
  enabled: boolean;
  propagate: boolean;
  description: string;
  shutdown(): Promise<void>;
}

export function envBool(name: string, def: boolean): boolean {
  const v = (process.env[name] ?? '').trim().toLowerCase();
  if (v === '') {
    return def;
  }
  if (v === 'true' || v === '1') {
    return true;
  }
  if (v === 'false' || v === '0') {
    return false;
  }
  throw new Error(`${name}: ${JSON.stringify(process.env[name])} is not true or false`);
}

// The traces URL, or undefined to let the exporter read OTEL_EXPORTER_OTLP_*.
function tracesUrl(): string | undefined {
  const collector = process.env.TELEMETRY_COLLECTOR_URL;
  if (collector) {
    const u = new URL(collector);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Error(`TELEMETRY_COLLECTOR_URL: ${collector} is not an http(s) URL`);
    }
    if (u.pathname === '' || u.pathname === '/') {
      u.pathname = '/v1/traces';
    }
    return u.toString();
  }
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    return undefined;
  }
  const backend = process.env.TELEMETRY_BACKEND ?? 'jaeger';
  if (backend === 'jaeger' || backend === '') {
    return 'http://localhost:4318/v1/traces';
  }
  if (backend === 'tempo') {
    return 'http://localhost:4319/v1/traces';
  }
  throw new Error(`TELEMETRY_BACKEND: ${JSON.stringify(backend)} is neither jaeger nor tempo`);
}

export function initTracing(): Tracing {
  const enabled = envBool('TELEMETRY_ENABLED', true);
  const propagate = enabled && envBool('TELEMETRY_PROPAGATE', true);
  if (!enabled) {
    // The API's no-op tracer: spans are non-recording, inject writes nothing.
    return {
      tracer: trace.getTracer('bun-monolith'),
      enabled,
      propagate,
      description: 'tracing disabled (TELEMETRY_ENABLED=false)',
      shutdown: async () => {},
    };
  }

  const rateText = process.env.TELEMETRY_SAMPLE_RATE ?? '1';
  const rate = Number(rateText);
  if (rateText.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`TELEMETRY_SAMPLE_RATE: ${JSON.stringify(rateText)} is not a number in [0, 1]`);
  }
  const url = tracesUrl();
  // service.name defaults to bun-monolith; OTEL_SERVICE_NAME and
  // OTEL_RESOURCE_ATTRIBUTES (the env detector, merged last) win.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'bun-monolith' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(rate) }),
    // The processor reads OTEL_BSP_SCHEDULE_DELAY and the other OTEL_BSP_*.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(url ? { url } : {}))],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const where = url ?? 'the OTEL_EXPORTER_OTLP_* settings';
  return {
    tracer: provider.getTracer('bun-monolith'),
    enabled,
    propagate,
    description: `tracing to ${where}, ParentBased(TraceIdRatioBased(${rate}))` +
      (propagate ? '' : ', traceparent NOT injected (TELEMETRY_PROPAGATE=false)'),
    shutdown: () => provider.shutdown(),
  };
}
