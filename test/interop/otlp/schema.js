'use strict';
// The two official OTLP schemas the receiver checks every protobuf body with:
//
//  - current: the protobufjs static module generated from opentelemetry-proto
//    that @opentelemetry/otlp-transformer 0.216.0 ships (build/src/generated/
//    root.js). It knows Span.flags, Link.flags and partial_success, so it is
//    the schema the receiver normalizes from and encodes answers with.
//  - v0.18: the .proto text of opentelemetry-proto v0.18 that
//    @opentelemetry/otlp-grpc-exporter-base 0.38.0 ships. Loaded with
//    protobufjs at run time; a body must decode with it too (a field that
//    changed wire type since then would fail here), and the gRPC service
//    definition (package, service and method names) comes from its
//    trace_service.proto.
//
// google.rpc.Status, RetryInfo and Duration are not in either package; their
// field numbers are declared here from google/rpc/status.proto,
// google/rpc/error_details.proto and google/protobuf/duration.proto.

const path = require('path');
const protobuf = require('protobufjs');

const current = require('otlp-transformer-0.216/build/src/generated/root.js');

const CUR_TRACE = current.opentelemetry.proto.collector.trace.v1;

const V018_DIR = path.join(path.dirname(require.resolve('otlp-proto-v0.18/package.json')),
  'build', 'protos');
const V018_SERVICE_FILE = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';

function loadV018() {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => path.join(V018_DIR, target);
  root.loadSync(V018_SERVICE_FILE, { keepCase: false });
  root.resolveAll();
  return root;
}

const v018 = loadV018();
const V018_REQUEST = v018.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const V018_SERVICE = v018.lookupService('opentelemetry.proto.collector.trace.v1.TraceService');

const rpc = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            RetryInfo: { fields: { retry_delay: { type: 'google.protobuf.Duration', id: 1 } } },
          },
        },
      },
    },
  },
});
const RPC_STATUS = rpc.lookupType('google.rpc.Status');
const RETRY_INFO = rpc.lookupType('google.rpc.RetryInfo');
const RETRY_INFO_URL = 'type.googleapis.com/google.rpc.RetryInfo';

// Decodes an ExportTraceServiceRequest body with both schemas. Returns
// {message} (decoded with the current schema) or {error} naming the schema
// that refused it.
function decodeRequest(buf) {
  let message;
  try {
    message = CUR_TRACE.ExportTraceServiceRequest.decode(buf);
  } catch (e) {
    return { error: 'protobuf decode (opentelemetry-proto current, otlp-transformer 0.216.0): ' + e.message };
  }
  try {
    V018_REQUEST.decode(buf);
  } catch (e) {
    return { error: 'protobuf decode (opentelemetry-proto v0.18 .proto files): ' + e.message };
  }
  return { message };
}

// ExportTraceServiceResponse bytes: empty for full success, partial_success
// set when rejected or message is given.
function encodeResponse(partial) {
  const obj = {};
  if (partial) {
    obj.partialSuccess = { rejectedSpans: partial.rejected, errorMessage: partial.message || '' };
  }
  return Buffer.from(CUR_TRACE.ExportTraceServiceResponse.encode(obj).finish());
}

function decodeResponse(buf) {
  return CUR_TRACE.ExportTraceServiceResponse.decode(buf);
}

// google.rpc.Status bytes, with a RetryInfo detail when retryDelayMs is a number.
function encodeStatus(code, message, retryDelayMs) {
  const details = [];
  if (typeof retryDelayMs === 'number') {
    const seconds = Math.floor(retryDelayMs / 1000);
    const nanos = (retryDelayMs % 1000) * 1e6;
    details.push({
      type_url: RETRY_INFO_URL,
      value: RETRY_INFO.encode({ retry_delay: { seconds, nanos } }).finish(),
    });
  }
  return Buffer.from(RPC_STATUS.encode({ code, message, details }).finish());
}

// google.rpc.Status bytes -> {code, message, retryDelayMs (or null)}.
function decodeStatus(buf) {
  const st = RPC_STATUS.decode(buf);
  let retryDelayMs = null;
  for (const d of st.details || []) {
    if (d.type_url === RETRY_INFO_URL) {
      const ri = RETRY_INFO.decode(d.value);
      const dur = ri.retry_delay || {};
      retryDelayMs = Number(dur.seconds || 0) * 1000 + Math.round((dur.nanos || 0) / 1e6);
    }
  }
  return { code: st.code, message: st.message, retryDelayMs };
}

module.exports = {
  current,
  CUR_TRACE,
  V018_DIR,
  V018_SERVICE_FILE,
  V018_SERVICE,
  decodeRequest,
  encodeResponse,
  decodeResponse,
  encodeStatus,
  decodeStatus,
};
