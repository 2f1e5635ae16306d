'use strict';
// The official OpenTelemetry JS OTLP exporters pushing spans as fast as they
// can, as a yardstick for tracegate's own exporter.
//
//   node bench_js_exporter.js --protocol http/protobuf|http/json|grpc
//        --endpoint URL [--spans N] [--batch 512] [--gzip]
//
// URL: http://127.0.0.1:PORT/v1/traces for the HTTP protocols,
// http://127.0.0.1:PORT for gRPC. Exporters: exporter-trace-otlp-proto,
// exporter-trace-otlp-http (JSON) and exporter-trace-otlp-grpc, all 0.223.0.
// Every span is a tracegate-like SERVER span (12 attributes, 2 events) with
// its own trace and span id; batches are exported one after another, each
// awaited. Prints one JSON line:
//   {"protocol", "endpoint", "spans", "batches", "batch_size", "failed_batches",
//    "seconds" (wall), "cpu_seconds" (this process, user+sys),
//    "spans_per_second", "spans_per_cpu_second"}
// Exits 1 if any batch failed.

const { readableSpans } = require('./spans');

function parseArgs(argv) {
  const o = { protocol: null, endpoint: null, spans: 100000, batch: 512, gzip: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--protocol') o.protocol = argv[++i];
    else if (a === '--endpoint') o.endpoint = argv[++i];
    else if (a === '--spans') o.spans = Number(argv[++i]);
    else if (a === '--batch') o.batch = Number(argv[++i]);
    else if (a === '--gzip') o.gzip = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['http/protobuf', 'http/json', 'grpc'].includes(o.protocol)) {
    throw new Error('--protocol must be http/protobuf, http/json or grpc');
  }
  if (!o.endpoint) throw new Error('--endpoint is required');
  if (!(o.spans > 0) || !(o.batch > 0)) throw new Error('--spans and --batch must be > 0');
  return o;
}

function makeExporter(o) {
  const config = { url: o.endpoint, timeoutMillis: 30000 };
  if (o.gzip) config.compression = 'gzip';
  if (o.protocol === 'http/protobuf') {
    return new (require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)(config);
  }
  if (o.protocol === 'http/json') {
    return new (require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)(config);
  }
  return new (require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter)(config);
}

// One batch of SERVER spans; ids are rewritten before each export.
function makeBatch(size) {
  const now = BigInt(Date.now()) * 1000000n;
  const spans = [];
  for (let i = 0; i < size; i++) {
    const start = now + BigInt(i) * 1000n;
    spans.push({
      traceId: '0'.repeat(32),
      spanId: '0'.repeat(16),
      parentSpanId: 'b7ad6b7169203331',
      parentIsRemote: true,
      name: 'GET /api/items/{id}',
      kind: 2,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + 1234567n),
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/api/items/42',
        'url.scheme': 'http',
        'url.query': 'page=2&sort=asc',
        'server.address': 'api.example.test',
        'server.port': 8080,
        'network.protocol.version': '1.1',
        'network.peer.address': '127.0.0.1',
        'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) bench/1.0',
        'client.address': '192.0.2.10',
        'http.response.status_code': 200,
        'http.route': '/api/items/{id}',
      },
      events: [
        { name: 'upstream.request.sent', timeUnixNano: String(start + 1000n), attributes: { 'upstream.address': '127.0.0.1:9000' } },
        { name: 'upstream.response.received', timeUnixNano: String(start + 1200000n), attributes: { 'http.response.status_code': 200 } },
      ],
      status: { code: 0 },
    });
  }
  return readableSpans({
    resource: { attributes: { 'service.name': 'bench', 'service.version': '1.0.0', 'telemetry.sdk.language': 'nodejs' } },
    scope: { name: 'bench', version: '1.0.0' },
    spans,
  });
}

function setIds(batch, counter) {
  for (let i = 0; i < batch.length; i++) {
    const n = (counter + i + 1).toString(16);
    const ctx = batch[i].spanContext();
    ctx.traceId = n.padStart(32, '0');
    ctx.spanId = n.padStart(16, '0');
    batch[i].parentSpanContext.traceId = ctx.traceId;
  }
}

function exportOnce(exporter, spans) {
  return new Promise(resolve => exporter.export(spans, resolve));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const exporter = makeExporter(o);
  const full = makeBatch(o.batch);
  let sent = 0;
  let batches = 0;
  let failed = 0;
  let firstError = null;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  while (sent < o.spans) {
    const n = Math.min(o.batch, o.spans - sent);
    const batch = n === full.length ? full : full.slice(0, n);
    setIds(batch, sent);
    const r = await exportOnce(exporter, batch);
    if (r.code !== 0) {
      failed += 1;
      if (!firstError) firstError = r.error ? String(r.error.message || r.error) : `code ${r.code}`;
    }
    sent += n;
    batches += 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await exporter.shutdown();
  const out = {
    protocol: o.protocol,
    endpoint: o.endpoint,
    spans: sent,
    batches,
    batch_size: o.batch,
    failed_batches: failed,
    seconds: Number(seconds.toFixed(4)),
    cpu_seconds: Number(cpuSeconds.toFixed(4)),
    spans_per_second: Math.round(sent / seconds),
    spans_per_cpu_second: Math.round(sent / cpuSeconds),
  };
  if (firstError) out.first_error = firstError;
  process.stdout.write(JSON.stringify(out) + '\n');
  if (failed) process.exitCode = 1;
}

main().catch(e => {
  process.stderr.write(`bench_js_exporter: ${e && e.stack ? e.stack : e}\n`);
  process.exit(2);
});
