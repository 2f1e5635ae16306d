// The monolith's HTTP API on Bun.serve, behind tracegate. otelMiddleware
// does what an HTTP server instrumentation would: continue the caller's W3C
// trace context, record one SERVER span per request named
// "{method} {http.route}" with the stable HTTP attributes, and hand the
// span's context to the handler, which passes it to outbound calls.

import {
  type Context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { Server } from 'bun';
import type { HTTPClient } from './http-client.ts';
import type { Tracing } from './tracing.ts';

type Handler = (req: Request, params: Record<string, string>, ctx: Context) => Promise<Response>;

interface Route {
  method: string;
  template: string; // the http.route value
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

// Fetch API Headers as a propagation carrier (names are lower-case).
const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Array.from(carrier.keys()),
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

function route(method: string, template: string, handler: Handler): Route {
  const names: string[] = [];
  const source = template.replace(/:([a-z]+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, template, pattern: new RegExp(`^${source}$`), names, handler };
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

export function createApp(tracing: Tracing, goCore: HTTPClient) {
  const routes: Route[] = [
    route('GET', '/api/organizations/:id/permissions', async (_req, params, ctx) => {
      if (!/^[0-9]+$/.test(params.id)) {
        return json(400, { error: 'organization id must be an integer' });
      }
      const res = await goCore.getJSON(ctx, `/organizations/${params.id}/permissions`);
      return json(res.status, res.body);
    }),
  ];

  async function dispatch(req: Request, url: URL, ctx: Context, found?: [Route, RegExpExecArray]) {
    if (!found) {
      return json(404, { error: 'not found' });
    }
    const [r, m] = found;
    const params: Record<string, string> = {};
    r.names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
    return r.handler(req, params, ctx);
  }

  // The request handler for Bun.serve, wrapped in the tracing middleware.
  return async function otelMiddleware(req: Request, server: Server): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/healthz') {
      return new Response('ok\n'); // health checks are not traced
    }
    let found: [Route, RegExpExecArray] | undefined;
    for (const r of routes) {
      const m = r.method === req.method ? r.pattern.exec(url.pathname) : null;
      if (m) {
        found = [r, m];
        break;
      }
    }
    // Without a valid traceparent extract() returns the root context and the
    // span starts a new trace; with flags 00 ParentBased records nothing.
    const parent = propagation.extract(ROOT_CONTEXT, req.headers, headersGetter);
    const attributes: Record<string, string | number> = {
      'http.request.method': req.method,
      'url.scheme': url.protocol.replace(':', ''),
      'url.path': url.pathname,
      'server.address': url.hostname,
      'server.port': Number(url.port),
      'network.protocol.version': '1.1',
    };
    if (url.search) {
      attributes['url.query'] = url.search.slice(1);
    }
    if (found) {
      attributes['http.route'] = found[0].template;
    }
    const ua = req.headers.get('user-agent');
    if (ua) {
      attributes['user_agent.original'] = ua;
    }
    const peer = server.requestIP(req);
    if (peer) {
      attributes['client.address'] = peer.address;
      attributes['network.peer.address'] = peer.address;
      attributes['network.peer.port'] = peer.port;
    }
    const name = found ? `${req.method} ${found[0].template}` : req.method;
    const span = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    const ctx = trace.setSpan(parent, span);
    let res: Response;
    let errorType: string | undefined;
    try {
      res = await dispatch(req, url, ctx, found);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      span.recordException(e);
      errorType = e.name || 'Error';
      res = json(502, { error: `go-core: ${e.message}` });
    }
    span.setAttribute('http.response.status_code', res.status);
    if (res.status >= 500) {
      // Server spans are errors from 500 up (4xx are the caller's).
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', errorType ?? String(res.status));
    }
    span.end();
    return res;
  };
}
