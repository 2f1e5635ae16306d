'use strict';
// A SpanExporter that prints every finished span as one JSON line on stdout,
// so tests can read a peer's spans without a collector. Shared by the Node and
// Bun peers; it requires no package itself (each peer passes in its own copy
// of @opentelemetry/api) so it resolves the same from either directory.
//
// Line shape:
//   {"peer","traceId","spanId","parentSpanId" ("" for a root span),"name",
//    "kind" (SpanKind name, e.g. "SERVER"),"sampled","attributes":{...}}

// ExportResultCode.SUCCESS in @opentelemetry/core; a plain number so this file
// needs no package of its own.
const EXPORT_SUCCESS = 0;

function spanLine(peer, api, span) {
  const ctx = span.spanContext();
  // sdk-trace 2.x keeps the parent as a whole SpanContext (parentSpanContext);
  // 1.x had a bare parentSpanId. Accept either so the line does not silently
  // lose its parent if the SDK shape changes.
  const parent = span.parentSpanContext ? span.parentSpanContext.spanId
    : (span.parentSpanId || '');
  return JSON.stringify({
    peer,
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: parent || '',
    name: span.name,
    kind: api.SpanKind[span.kind],
    sampled: (ctx.traceFlags & api.TraceFlags.SAMPLED) === api.TraceFlags.SAMPLED,
    attributes: span.attributes,
  });
}

class JsonLineSpanExporter {
  constructor(peer, api) {
    this.peer = peer;
    this.api = api;
    this.stopped = false;
  }

  export(spans, resultCallback) {
    if (!this.stopped) {
      let out = '';
      for (const span of spans) {
        out += spanLine(this.peer, this.api, span) + '\n';
      }
      // One write per batch: writes to a pipe are synchronous in Node on
      // Linux, so a line is never cut by an exit right after a flush.
      process.stdout.write(out);
    }
    resultCallback({ code: EXPORT_SUCCESS });
  }

  shutdown() {
    this.stopped = true;
    return Promise.resolve();
  }

  forceFlush() {
    return Promise.resolve();
  }
}

module.exports = { JsonLineSpanExporter, spanLine };
