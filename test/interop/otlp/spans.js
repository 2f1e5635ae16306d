'use strict';
// Builds ReadableSpan objects (the shape @opentelemetry/sdk-trace-base hands
// to an exporter) from a plain JSON description, so the official JS
// serializers and exporters can encode exactly the spans a test describes.
//
// Description: one group, or a list of groups (one ResourceSpans each):
//   {"resource": {"attributes": {k: v}, "schemaUrl": ""},
//    "scope": {"name": "", "version": "", "schemaUrl": "", "attributes": {k: v}},
//    "spans": [{
//      "traceId": 32 hex, "spanId": 16 hex, "parentSpanId": 16 hex (optional),
//      "parentIsRemote": bool (optional),
//      "traceState": "k=v,..." (optional), "traceFlags": int (default 1),
//      "flags": int (optional, OTLP Span.flags: traceFlags = flags & 0xff,
//                    parentIsRemote = flags & 0x200; the official serializer
//                    always sets 0x100 itself),
//      "name": "", "kind": OTLP SpanKind int 0..5 (0 = unspecified),
//      "startTimeUnixNano": "decimal", "endTimeUnixNano": "decimal",
//      "attributes": {k: v}, "droppedAttributesCount": 0,
//      "events": [{"name", "timeUnixNano", "attributes", "droppedAttributesCount"}],
//      "droppedEventsCount": 0,
//      "links": [{"traceId", "spanId", "traceState", "traceFlags" or "flags",
//                 "isRemote", "attributes", "droppedAttributesCount"}],
//      "droppedLinksCount": 0,
//      "status": {"code": 0|1|2, "message": ""}}]}
// Attribute values are plain JSON as the JS SDK takes them: a string, a
// boolean, an integral number (intValue), any other number (doubleValue), or
// a homogeneous array of these.

const { TraceState } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const NS = 1000000000n;

function hrTime(ns) {
  const b = BigInt(ns || '0');
  return [Number(b / NS), Number(b % NS)];
}

function hrDuration(start, end) {
  const d = BigInt(end || '0') - BigInt(start || '0');
  return hrTime(d < 0n ? '0' : d.toString());
}

function flagsOf(desc, remoteKey) {
  if (desc.flags !== undefined) {
    return { traceFlags: desc.flags & 0xff, isRemote: (desc.flags & 0x200) !== 0 };
  }
  return {
    traceFlags: desc.traceFlags === undefined ? 1 : desc.traceFlags,
    isRemote: !!desc[remoteKey],
  };
}

function readableSpan(d, resource, scope) {
  const { traceFlags, isRemote } = flagsOf(d, 'parentIsRemote');
  const traceState = d.traceState ? new TraceState(d.traceState) : undefined;
  const ctx = { traceId: d.traceId, spanId: d.spanId, traceFlags, traceState };
  let parentSpanContext;
  if (d.parentSpanId) {
    parentSpanContext = { traceId: d.traceId, spanId: d.parentSpanId, traceFlags, isRemote };
  } else if (isRemote) {
    throw new Error(`span ${d.spanId}: a remote parent needs a parentSpanId`);
  }
  const status = d.status || { code: 0 };
  return {
    name: d.name || '',
    kind: d.kind ? d.kind - 1 : undefined,
    spanContext: () => ctx,
    parentSpanContext,
    startTime: hrTime(d.startTimeUnixNano),
    endTime: hrTime(d.endTimeUnixNano),
    duration: hrDuration(d.startTimeUnixNano, d.endTimeUnixNano),
    ended: true,
    status: { code: status.code || 0, message: status.message },
    attributes: d.attributes || {},
    links: (d.links || []).map(l => {
      const lf = flagsOf(l, 'isRemote');
      return {
        context: {
          traceId: l.traceId,
          spanId: l.spanId,
          traceFlags: lf.traceFlags,
          isRemote: lf.isRemote,
          traceState: l.traceState ? new TraceState(l.traceState) : undefined,
        },
        attributes: l.attributes || {},
        droppedAttributesCount: l.droppedAttributesCount || 0,
      };
    }),
    events: (d.events || []).map(e => ({
      name: e.name,
      time: hrTime(e.timeUnixNano),
      attributes: e.attributes || {},
      droppedAttributesCount: e.droppedAttributesCount || 0,
    })),
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: d.droppedAttributesCount || 0,
    droppedEventsCount: d.droppedEventsCount || 0,
    droppedLinksCount: d.droppedLinksCount || 0,
  };
}

// Description (object or list of groups) -> ReadableSpan[] in order.
function readableSpans(desc) {
  const groups = Array.isArray(desc) ? desc : [desc];
  const out = [];
  for (const g of groups) {
    const r = g.resource || {};
    const resource = resourceFromAttributes(r.attributes || {},
      r.schemaUrl ? { schemaUrl: r.schemaUrl } : undefined);
    const s = g.scope || {};
    const scope = { name: s.name || '', version: s.version, schemaUrl: s.schemaUrl };
    if (s.attributes) scope.attributes = s.attributes;
    for (const d of g.spans || []) out.push(readableSpan(d, resource, scope));
  }
  return out;
}

module.exports = { readableSpans, hrTime };
