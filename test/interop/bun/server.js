'use strict';
// Interop peer: a Bun.serve server traced by the official OpenTelemetry JS SDK,
// standing in for a Bun service behind tracegate. Run by the Bun binary that
// the @oven/bun-linux-x64 package ships:
//
//   node_modules/@oven/bun-linux-x64/bin/bun server.js [--port N]
//                                   (or PORT=N; 0 or nothing = a free port)
//
// NodeSDK and its instrumentations hook node:http, which Bun.serve does not go
// through, so the server does by hand what an instrumentation would: extract
// the W3C trace context from the request, start one SERVER span named
// "<METHOD> <path>" under it, end it when the response is made. Every finished
// span is printed as one JSON line on stdout (see ../jsonl_exporter.js);
// "PORT <n>" is printed once it listens. GET /echo answers 200 with the request
// headers it received and the span context of the request. SIGTERM flushes
// spans and exits 0.

const api = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const {
  AlwaysOnSampler, BasicTracerProvider, ParentBasedSampler, SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');
const { JsonLineSpanExporter } = require('../jsonl_exporter.js');

function portArg() {
  const i = process.argv.indexOf('--port');
  const raw = i >= 0 ? process.argv[i + 1] : (process.env.PORT || '0');
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`server.js: bad port ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

// Configured wholly in code (no OTEL_* variables are read by BasicTracerProvider
// for these choices): the SDK's default sampler spelled out, and a Simple
// processor so each span is printed as it ends.
const provider = new BasicTracerProvider({
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  spanProcessors: [new SimpleSpanProcessor(new JsonLineSpanExporter('bun', api))],
});
const tracer = provider.getTracer('tracegate-interop-bun');
const propagator = new W3CTraceContextPropagator();

// TextMapGetter over a Fetch API Headers object (names are lower-case).
const headersGetter = {
  keys: (carrier) => Array.from(carrier.keys()),
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

function handle(req, url, span) {
  if (req.method === 'GET' && url.pathname === '/echo') {
    const ctx = span.spanContext();
    return Response.json({
      peer: 'bun',
      method: req.method,
      url: url.pathname + url.search,
      headers: Object.fromEntries(req.headers),
      context: { traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags },
    });
  }
  return new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain' } });
}

let server = null;
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) {
    return;
  }
  stopping = true;
  if (server) {
    server.stop(true);
  }
  // Shutdown flushes the span processor, so every span that ended is printed.
  provider.shutdown().then(
    () => process.exit(0),
    (err) => {
      console.error(`server.js: shutdown failed: ${err}`);
      process.exit(1);
    });
});

server = Bun.serve({
  hostname: '127.0.0.1',
  port: portArg(),
  fetch(req, srv) {
    const url = new URL(req.url);
    // Without a valid traceparent extract() leaves the context empty and the
    // span becomes a root; with flags 00 ParentBased makes it non-recording.
    const parent = propagator.extract(api.ROOT_CONTEXT, req.headers, headersGetter);
    const attributes = {
      'http.request.method': req.method,
      'url.scheme': 'http',
      'url.path': url.pathname,
      'server.address': '127.0.0.1',
      'server.port': srv.port,
      'network.protocol.version': '1.1',
    };
    const ua = req.headers.get('user-agent');
    if (ua) {
      attributes['user_agent.original'] = ua;
    }
    const peer = srv.requestIP(req);
    if (peer) {
      attributes['client.address'] = peer.address;
      attributes['network.peer.address'] = peer.address;
      attributes['network.peer.port'] = peer.port;
    }
    const span = tracer.startSpan(`${req.method} ${url.pathname}`,
      { kind: api.SpanKind.SERVER, attributes }, parent);
    let res;
    try {
      res = handle(req, url, span);
    } catch (err) {
      span.recordException(err);
      span.setStatus({ code: api.SpanStatusCode.ERROR });
      res = new Response('internal error\n', { status: 500 });
    }
    span.setAttribute('http.response.status_code', res.status);
    span.end();
    return res;
  },
});

// Bun installs a process.on('SIGTERM') listener's OS handler from its event
// loop, not at the call: a SIGTERM sent right after a PORT line printed in this
// first tick still met the default action (exit 143, spans unflushed) in about
// one start in five here. Printing PORT one turn of the loop later means a
// runner that sees it can rely on the handler.
setImmediate(() => process.stdout.write(`PORT ${server.port}\n`));
