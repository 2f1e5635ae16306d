// Outbound HTTP for the monolith. Bun's fetch is not instrumented by any
// OpenTelemetry package, so each call gets a CLIENT span here and the W3C
// traceparent naming that span is injected into the request headers with
// propagation.inject(). The downstream service (tracegate, then the Go
// backend) continues the trace under it.

import {
  type Context, propagation, SpanKind, SpanStatusCode, trace,
} from '@opentelemetry/api';
import type { Tracing } from './tracing.ts';

export interface JSONResponse {
  status: number;
  body: unknown;
}

export class HTTPClient {
  private readonly base: URL;

  constructor(baseUrl: string, private readonly tracing: Tracing) {
    this.base = new URL(baseUrl);
  }

  async getJSON(ctx: Context, path: string): Promise<JSONResponse> {
    const url = new URL(path, this.base);
    // HTTP client span name: the method alone (no URL template is known).
    const span = this.tracing.tracer.startSpan('GET', {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'GET',
        'url.full': url.toString(),
        'server.address': url.hostname,
        'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        'network.protocol.version': '1.1',
      },
    }, ctx);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.tracing.propagate) {
      propagation.inject(trace.setSpan(ctx, span), headers);
    }
    try {
      const res = await fetch(url, { headers });
      span.setAttribute('http.response.status_code', res.status);
      if (res.status >= 400) {
        span.setAttribute('error.type', String(res.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      const text = await res.text();
      let body: unknown = text;
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        body = JSON.parse(text);
      }
      return { status: res.status, body };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      span.recordException(e);
      span.setAttribute('error.type', e.name || 'Error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
      throw e;
    } finally {
      span.end();
    }
  }
}
