'use strict';
// Sends one ExportTraceServiceRequest body over OTLP/gRPC with grpc-js and
// prints what came back, for tests that drive a receiver by hand.
//
//   node grpc_send.js --target 127.0.0.1:PORT --body FILE [--gzip]
//                     [--timeout-ms N] [--metadata key=value]...
//
// FILE holds the serialized request (e.g. from encode_js.js --emit-protobuf).
// Prints one JSON line:
//   {"code": gRPC status number, "status": its name, "details": message,
//    "response": {"partialSuccess": {"rejectedSpans": "n", "errorMessage": ""}} or {}
//                (on OK), "retry_delay_ms": from a RetryInfo in
//    grpc-status-details-bin, or null}
// Exits 0 whatever the status; 2 on a usage error.

const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const schema = require('./schema');

const PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

function parseArgs(argv) {
  const o = { target: null, body: null, gzip: false, timeoutMs: 10000, metadata: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target') o.target = argv[++i];
    else if (a === '--body') o.body = argv[++i];
    else if (a === '--gzip') o.gzip = true;
    else if (a === '--timeout-ms') o.timeoutMs = Number(argv[++i]);
    else if (a === '--metadata') o.metadata.push(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.target || !o.body) throw new Error('--target and --body are required');
  return o;
}

function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`grpc_send: ${e.message}\n`);
    process.exit(2);
  }
  const body = fs.readFileSync(o.body);
  const channelOpts = {};
  if (o.gzip) channelOpts['grpc.default_compression_algorithm'] = 2; // gzip
  const client = new grpc.Client(o.target, grpc.credentials.createInsecure(), channelOpts);
  const md = new grpc.Metadata();
  for (const kv of o.metadata) {
    const i = kv.indexOf('=');
    md.add(kv.slice(0, i), kv.slice(i + 1));
  }
  const id = b => b;
  const deadline = new Date(Date.now() + o.timeoutMs);
  client.makeUnaryRequest(PATH, id, id, body, md, { deadline }, (err, resp) => {
    const out = { code: 0, status: 'OK', details: '', response: null, retry_delay_ms: null };
    if (err) {
      out.code = err.code;
      out.status = NAMES[err.code];
      out.details = err.details;
      const bin = err.metadata && err.metadata.get('grpc-status-details-bin');
      if (bin && bin.length) out.retry_delay_ms = schema.decodeStatus(bin[0]).retryDelayMs;
    } else {
      out.response = schema.decodeResponse(resp).toJSON();
    }
    process.stdout.write(JSON.stringify(out) + '\n');
    client.close();
  });
}

main();
