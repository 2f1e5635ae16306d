'use strict';
// Interop peer: a node:http server traced by the official OpenTelemetry JS SDK
// (NodeSDK + HTTP instrumentation), standing in for a Node service behind
// tracegate. Every finished span is printed as one JSON line on stdout (see
// ../jsonl_exporter.js); "PORT <n>" is printed once it listens.
//
//   node server.js [--port N]      (or PORT=N; 0 or nothing = a free port)
//
// GET /echo answers 200 with the request headers it received and the trace
// context the SDK made current for the request. SIGTERM flushes spans and exits 0.

// The peer is configured wholly in code below: OTEL_* variables from the
// environment (a test runner's, or ones meant for tracegate) must not change
// its sampler, propagator or exporters, so they are dropped before the SDK reads them.
for (const key of Object.keys(process.env)) {
  if (key.startsWith('OTEL_')) {
    delete process.env[key];
  }
}

const api = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const {
  AlwaysOnSampler, ParentBasedSampler, SimpleSpanProcessor,
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

const sdk = new NodeSDK({
  serviceName: 'interop-node',
  autoDetectResources: false,
  // The SDK's default sampler, spelled out: a remote parent's sampled flag decides.
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  textMapPropagator: new W3CTraceContextPropagator(),
  // Simple, not batch: each span is exported as it ends, so tests see it at once.
  spanProcessors: [new SimpleSpanProcessor(new JsonLineSpanExporter('node', api))],
  instrumentations: [new HttpInstrumentation()],
  metricReaders: [],
  logRecordProcessors: [],
});
sdk.start();

// Loaded after sdk.start() so the HTTP instrumentation has patched it.
const http = require('node:http');

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/echo') {
    const ctx = api.trace.getSpanContext(api.context.active());
    const body = JSON.stringify({
      peer: 'node',
      method: req.method,
      url: req.url,
      headers: req.headers,
      // The span the SDK made current for this request (a non-recording one
      // when the parent said "not sampled"): proves what was extracted.
      context: ctx ? {
        traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags,
      } : null,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 10 });
  res.end('not found\n');
});

server.listen(portArg(), '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) {
    return;
  }
  stopping = true;
  server.close();
  server.closeAllConnections();
  // Shutdown flushes the span processor, so every span that ended is printed.
  sdk.shutdown().then(
    () => process.exit(0),
    (err) => {
      console.error(`server.js: shutdown failed: ${err}`);
      process.exit(1);
    });
});
