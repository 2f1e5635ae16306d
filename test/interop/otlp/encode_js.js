'use strict';
// What the official OpenTelemetry JS exporters would send for a set of spans.
//
//   node encode_js.js [--emit-protobuf FILE] [--emit-json FILE] < description.json
//
// Reads a span description (see spans.js) on stdin, builds ReadableSpans and
// serializes them with the serializers of @opentelemetry/otlp-transformer
// 0.223.0: ProtobufTraceSerializer (what exporter-trace-otlp-proto and
// exporter-trace-otlp-grpc send) and JsonTraceSerializer (what
// exporter-trace-otlp-http sends). The protobuf body is decoded the way the
// receiver decodes it (both schemas, normalize.js), the JSON body with the
// receiver's OTLP/JSON decoder, and the two normalized forms must be equal.
//
// Prints one JSON object on stdout:
//   {"resource_spans": [normalized, as receiver.js logs it],
//    "span_count": n, "protobuf_bytes": n, "json_bytes": n,
//    "json_warnings": [what the official JSON body does that OTLP/JSON says
//                      a sender should not, e.g. intValue as a number]}
// --emit-protobuf / --emit-json write the raw bodies to files (for sending
// them to a receiver). Exits 1, with the reason on stderr, if either body
// fails to decode or the two normalize differently.

const fs = require('fs');
const assert = require('assert');
const { ProtobufTraceSerializer, JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { readableSpans } = require('./spans');
const { decodeRequest } = require('./schema');
const { normalizeProto, decodeJson, countSpans } = require('./normalize');

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--emit-protobuf' || a === '--emit-json') {
      out[a.slice(7)] = argv[++i];
    } else {
      throw new Error(`unknown argument ${a}`);
    }
  }
  return out;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const desc = JSON.parse(fs.readFileSync(0, 'utf8'));
  const spans = readableSpans(desc);

  const pb = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans));
  const js = Buffer.from(JsonTraceSerializer.serializeRequest(spans));
  if (args.protobuf) fs.writeFileSync(args.protobuf, pb);
  if (args.json) fs.writeFileSync(args.json, js);

  const dec = decodeRequest(pb);
  if (dec.error) throw new Error(dec.error);
  const fromPb = normalizeProto(dec.message);
  const fromJson = decodeJson(js);
  try {
    assert.deepStrictEqual(fromJson.resourceSpans, fromPb);
  } catch (e) {
    throw new Error('the JSON and protobuf bodies normalize differently:\n' + e.message);
  }
  process.stdout.write(JSON.stringify({
    resource_spans: fromPb,
    span_count: countSpans(fromPb),
    protobuf_bytes: pb.length,
    json_bytes: js.length,
    json_warnings: fromJson.warnings,
  }) + '\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`encode_js: ${e.message}\n`);
  process.exit(1);
}
