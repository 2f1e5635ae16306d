'use strict';
// One normalized form for an ExportTraceServiceRequest, whether it arrived as
// binary protobuf (decoded with protobufjs) or as OTLP/JSON, so that the same
// spans sent either way normalize to identical JSON.
//
// Normalized ResourceSpans:
//   {"resource": {"attributes": [KV...], "attrs": {...}, "droppedAttributesCount": n},
//    "schemaUrl": "",
//    "scopeSpans": [{"scope": {"name", "version", "attributes", "attrs",
//                              "droppedAttributesCount"},
//                    "schemaUrl": "",
//                    "spans": [Span...]}]}
// Span:
//   {"traceId", "spanId", "parentSpanId" (lowercase hex, "" when absent),
//    "traceState", "flags" (number), "name", "kind" (number),
//    "startTimeUnixNano", "endTimeUnixNano" (decimal strings),
//    "attributes", "attrs", "droppedAttributesCount",
//    "events": [{"timeUnixNano", "name", "attributes", "attrs", "droppedAttributesCount"}],
//    "droppedEventsCount",
//    "links": [{"traceId", "spanId", "traceState", "flags", "attributes", "attrs",
//               "droppedAttributesCount"}],
//    "droppedLinksCount", "status": {"code" (number), "message"}}
// Every field is present; an absent field takes its proto3 default.
//
// "attributes" keeps every KeyValue in order with its typed value in the
// OTLP/JSON form: {"stringValue": s} | {"boolValue": b} | {"intValue": "decimal"}
// | {"doubleValue": n ("NaN", "Infinity", "-Infinity" for non-finite)}
// | {"bytesValue": base64} | {"arrayValue": {"values": [...]}}
// | {"kvlistValue": {"values": [KV...]}} | {} (no value set).
// "attrs" is the convenience map key -> plain value: strings, booleans,
// doubles as numbers, ints as numbers when |v| <= 2^53-1 and as decimal
// strings beyond, bytes as base64, arrays as lists, kvlists as objects, an
// unset value as null. A repeated key keeps its last value there.

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class DecodeError extends Error {}

// ---------------------------------------------------------------- values

function flatten(v) {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) {
    const b = BigInt(v.intValue);
    return (b <= MAX_SAFE && b >= -MAX_SAFE) ? Number(b) : v.intValue;
  }
  if ('doubleValue' in v) return v.doubleValue;
  if ('bytesValue' in v) return v.bytesValue;
  if ('arrayValue' in v) return v.arrayValue.values.map(flatten);
  if ('kvlistValue' in v) return flatMap(v.kvlistValue.values);
  return null;
}

function flatMap(kvs) {
  const out = {};
  for (const kv of kvs) out[kv.key] = flatten(kv.value);
  return out;
}

function normDouble(d) {
  if (Number.isFinite(d)) return d;
  if (Number.isNaN(d)) return 'NaN';
  return d > 0 ? 'Infinity' : '-Infinity';
}

// ---------------------------------------------------------------- protobuf

function own(o, k) {
  return o != null && Object.prototype.hasOwnProperty.call(o, k) && o[k] != null;
}

function longStr(v) {
  if (v == null) return '0';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return v.toString();
  return v.toString(); // Long
}

function hex(bytes) {
  return bytes ? Buffer.from(bytes).toString('hex') : '';
}

function checkIdLength(bytes, want, what) {
  const n = bytes ? bytes.length : 0;
  if (n !== 0 && n !== want) {
    throw new DecodeError(`${what} is ${n} bytes, want ${want}`);
  }
}

function pbValue(v) {
  if (v == null) return {};
  if (own(v, 'stringValue')) return { stringValue: v.stringValue };
  if (own(v, 'boolValue')) return { boolValue: v.boolValue };
  if (own(v, 'intValue')) return { intValue: longStr(v.intValue) };
  if (own(v, 'doubleValue')) return { doubleValue: normDouble(v.doubleValue) };
  if (own(v, 'bytesValue')) return { bytesValue: Buffer.from(v.bytesValue).toString('base64') };
  if (own(v, 'arrayValue')) return { arrayValue: { values: (v.arrayValue.values || []).map(pbValue) } };
  if (own(v, 'kvlistValue')) return { kvlistValue: { values: pbKVs(v.kvlistValue.values) } };
  return {};
}

function pbKVs(list) {
  return (list || []).map(kv => ({ key: kv.key || '', value: pbValue(kv.value) }));
}

function withAttrs(obj, kvs) {
  obj.attributes = kvs;
  obj.attrs = flatMap(kvs);
  return obj;
}

function pbSpan(s) {
  checkIdLength(s.traceId, 16, 'span trace_id');
  checkIdLength(s.spanId, 8, 'span span_id');
  checkIdLength(s.parentSpanId, 8, 'span parent_span_id');
  const out = {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    parentSpanId: hex(s.parentSpanId),
    traceState: s.traceState || '',
    flags: s.flags || 0,
    name: s.name || '',
    kind: s.kind || 0,
    startTimeUnixNano: longStr(s.startTimeUnixNano),
    endTimeUnixNano: longStr(s.endTimeUnixNano),
  };
  withAttrs(out, pbKVs(s.attributes));
  out.droppedAttributesCount = s.droppedAttributesCount || 0;
  out.events = (s.events || []).map(e => {
    const o = withAttrs({
      timeUnixNano: longStr(e.timeUnixNano),
      name: e.name || '',
    }, pbKVs(e.attributes));
    o.droppedAttributesCount = e.droppedAttributesCount || 0;
    return o;
  });
  out.droppedEventsCount = s.droppedEventsCount || 0;
  out.links = (s.links || []).map(l => {
    checkIdLength(l.traceId, 16, 'link trace_id');
    checkIdLength(l.spanId, 8, 'link span_id');
    const o = withAttrs({
      traceId: hex(l.traceId),
      spanId: hex(l.spanId),
      traceState: l.traceState || '',
      flags: l.flags || 0,
    }, pbKVs(l.attributes));
    o.droppedAttributesCount = l.droppedAttributesCount || 0;
    return o;
  });
  out.droppedLinksCount = s.droppedLinksCount || 0;
  out.status = {
    code: (s.status && s.status.code) || 0,
    message: (s.status && s.status.message) || '',
  };
  return out;
}

function pbScope(sc) {
  const o = withAttrs({
    name: (sc && sc.name) || '',
    version: (sc && sc.version) || '',
  }, pbKVs(sc && sc.attributes));
  o.droppedAttributesCount = (sc && sc.droppedAttributesCount) || 0;
  return o;
}

function pbResource(r) {
  const o = withAttrs({}, pbKVs(r && r.attributes));
  o.droppedAttributesCount = (r && r.droppedAttributesCount) || 0;
  return o;
}

// ExportTraceServiceRequest decoded by protobufjs -> normalized ResourceSpans list.
// Throws DecodeError for ids of the wrong length.
function normalizeProto(req) {
  return (req.resourceSpans || []).map(rs => ({
    resource: pbResource(rs.resource),
    schemaUrl: rs.schemaUrl || '',
    scopeSpans: (rs.scopeSpans || []).map(ss => ({
      scope: pbScope(ss.scope),
      schemaUrl: ss.schemaUrl || '',
      spans: (ss.spans || []).map(pbSpan),
    })),
  }));
}

// ---------------------------------------------------------------- OTLP/JSON
//
// Follows the OTLP/JSON rules: lowerCamelCase keys (an original snake_case
// name is an unknown field), unknown fields ignored, trace and span ids as
// case-insensitive hex, enums as integers, 64-bit integers as decimal strings
// (numbers are accepted, as the protobuf JSON mapping allows), null as the
// default. Every tolerated deviation from what OTLP/JSON says a sender MUST or
// should write (unknown field, enum name, 64-bit integer as a JSON number,
// base64url bytes) is recorded as a warning, so tests can require none.

class JsonDecoder {
  constructor() {
    this.warnings = [];
  }

  warn(path, msg) {
    this.warnings.push(`${path}: ${msg}`);
  }

  fail(path, msg) {
    throw new DecodeError(`${path}: ${msg}`);
  }

  // Checks obj is an object (or null/absent -> null) and warns about keys not in known.
  obj(v, path, known) {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'expected an object');
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) this.warn(`${path}.${k}`, 'unknown field ignored');
    }
    return v;
  }

  arr(v, path) {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, 'expected an array');
    return v;
  }

  str(v, path) {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') this.fail(path, 'expected a string');
    return v;
  }

  bool(v, path) {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') this.fail(path, 'expected true or false');
    return v;
  }

  // uint32 / fixed32 / int32: number, or a decimal string (protobuf JSON mapping).
  u32(v, path, signed = false) {
    if (v === undefined || v === null) return 0;
    let n = v;
    if (typeof v === 'string') {
      if (!/^-?\d+$/.test(v)) this.fail(path, 'expected an integer');
      n = Number(v);
    } else if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(path, 'expected an integer');
    }
    const lo = signed ? -2147483648 : 0;
    const hi = signed ? 2147483647 : 4294967295;
    if (n < lo || n > hi) this.fail(path, 'out of range');
    return n;
  }

  // 64-bit integers: a decimal string; a JSON number is accepted with a warning.
  i64(v, path, signed) {
    if (v === undefined || v === null) return '0';
    let b;
    if (typeof v === 'string') {
      if (!/^-?\d+$/.test(v)) this.fail(path, 'expected a decimal integer string');
      b = BigInt(v);
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      this.warn(path, '64-bit integer as a JSON number (OTLP/JSON writes a string)');
      if (!Number.isSafeInteger(v)) this.warn(path, 'JSON number beyond 2^53: precision may be lost');
      b = BigInt(v);
    } else {
      this.fail(path, 'expected a 64-bit integer');
    }
    const min = signed ? -(1n << 63n) : 0n;
    const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
    if (b < min || b > max) this.fail(path, 'out of range');
    return b.toString();
  }

  enumv(v, path, names) {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'string') {
      const i = names.indexOf(v);
      if (i < 0) this.fail(path, `unknown enum value ${JSON.stringify(v)}`);
      this.warn(path, 'enum as a name (OTLP/JSON requires the integer)');
      return i;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, 'expected an enum integer');
    return v;
  }

  id(v, path, bytes) {
    const s = this.str(v, path);
    if (s === '') return '';
    if (!/^[0-9a-fA-F]*$/.test(s)) this.fail(path, `not hex: ${JSON.stringify(s)}`);
    if (s.length !== bytes * 2) this.fail(path, `${s.length / 2} bytes, want ${bytes}`);
    return s.toLowerCase();
  }

  double(v, path) {
    if (typeof v === 'number') return normDouble(v);
    if (typeof v === 'string') {
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
      const n = Number(v);
      if (v.trim() === '' || Number.isNaN(n)) this.fail(path, 'expected a number');
      return normDouble(n);
    }
    this.fail(path, 'expected a number');
    return 0;
  }

  bytes(v, path) {
    const s = this.str(v, path);
    if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(s)) this.fail(path, 'not base64');
    if (/[-_]/.test(s)) this.warn(path, 'base64url alphabet');
    return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('base64');
  }

  value(v, path) {
    const o = this.obj(v, path, ['stringValue', 'boolValue', 'intValue', 'doubleValue',
      'arrayValue', 'kvlistValue', 'bytesValue']);
    if (o === null) return {};
    const set = Object.keys(o).filter(k => o[k] !== null && k.endsWith('Value')
      && ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue',
        'kvlistValue', 'bytesValue'].includes(k));
    if (set.length > 1) this.fail(path, `more than one value set (${set.join(', ')})`);
    if (set.length === 0) return {};
    const k = set[0];
    const p = `${path}.${k}`;
    switch (k) {
      case 'stringValue': return { stringValue: this.str(o[k], p) };
      case 'boolValue': return { boolValue: this.bool(o[k], p) };
      case 'intValue': return { intValue: this.i64(o[k], p, true) };
      case 'doubleValue': return { doubleValue: this.double(o[k], p) };
      case 'bytesValue': return { bytesValue: this.bytes(o[k], p) };
      case 'arrayValue': {
        const a = this.obj(o[k], p, ['values']) || {};
        return { arrayValue: { values: this.arr(a.values, `${p}.values`).map((x, i) => this.value(x, `${p}.values[${i}]`)) } };
      }
      default: {
        const a = this.obj(o[k], p, ['values']) || {};
        return { kvlistValue: { values: this.kvs(a.values, `${p}.values`) } };
      }
    }
  }

  kvs(v, path) {
    return this.arr(v, path).map((kv, i) => {
      const p = `${path}[${i}]`;
      const o = this.obj(kv, p, ['key', 'value']) || {};
      return { key: this.str(o.key, `${p}.key`), value: this.value(o.value, `${p}.value`) };
    });
  }

  withAttrs(out, o, path) {
    withAttrs(out, this.kvs(o.attributes, `${path}.attributes`));
    out.droppedAttributesCount = this.u32(o.droppedAttributesCount, `${path}.droppedAttributesCount`);
    return out;
  }

  span(v, path) {
    const o = this.obj(v, path, ['traceId', 'spanId', 'traceState', 'parentSpanId', 'flags',
      'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes',
      'droppedAttributesCount', 'events', 'droppedEventsCount', 'links',
      'droppedLinksCount', 'status']) || {};
    const out = {
      traceId: this.id(o.traceId, `${path}.traceId`, 16),
      spanId: this.id(o.spanId, `${path}.spanId`, 8),
      parentSpanId: this.id(o.parentSpanId, `${path}.parentSpanId`, 8),
      traceState: this.str(o.traceState, `${path}.traceState`),
      flags: this.u32(o.flags, `${path}.flags`),
      name: this.str(o.name, `${path}.name`),
      kind: this.enumv(o.kind, `${path}.kind`, ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL',
        'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER']),
      startTimeUnixNano: this.i64(o.startTimeUnixNano, `${path}.startTimeUnixNano`, false),
      endTimeUnixNano: this.i64(o.endTimeUnixNano, `${path}.endTimeUnixNano`, false),
    };
    this.withAttrs(out, o, path);
    out.events = this.arr(o.events, `${path}.events`).map((e, i) => {
      const p = `${path}.events[${i}]`;
      const eo = this.obj(e, p, ['timeUnixNano', 'name', 'attributes', 'droppedAttributesCount']) || {};
      return this.withAttrs({
        timeUnixNano: this.i64(eo.timeUnixNano, `${p}.timeUnixNano`, false),
        name: this.str(eo.name, `${p}.name`),
      }, eo, p);
    });
    out.droppedEventsCount = this.u32(o.droppedEventsCount, `${path}.droppedEventsCount`);
    out.links = this.arr(o.links, `${path}.links`).map((l, i) => {
      const p = `${path}.links[${i}]`;
      const lo = this.obj(l, p, ['traceId', 'spanId', 'traceState', 'attributes',
        'droppedAttributesCount', 'flags']) || {};
      return this.withAttrs({
        traceId: this.id(lo.traceId, `${p}.traceId`, 16),
        spanId: this.id(lo.spanId, `${p}.spanId`, 8),
        traceState: this.str(lo.traceState, `${p}.traceState`),
        flags: this.u32(lo.flags, `${p}.flags`),
      }, lo, p);
    });
    out.droppedLinksCount = this.u32(o.droppedLinksCount, `${path}.droppedLinksCount`);
    const st = this.obj(o.status, `${path}.status`, ['message', 'code']) || {};
    out.status = {
      code: this.enumv(st.code, `${path}.status.code`,
        ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR']),
      message: this.str(st.message, `${path}.status.message`),
    };
    return out;
  }

  request(v) {
    const o = this.obj(v, '$', ['resourceSpans']);
    if (o === null) this.fail('$', 'expected an ExportTraceServiceRequest object');
    return this.arr(o.resourceSpans, '$.resourceSpans').map((rs, i) => {
      const p = `$.resourceSpans[${i}]`;
      const ro = this.obj(rs, p, ['resource', 'scopeSpans', 'schemaUrl']) || {};
      const res = this.obj(ro.resource, `${p}.resource`,
        ['attributes', 'droppedAttributesCount', 'entityRefs']) || {};
      return {
        resource: this.withAttrs({}, res, `${p}.resource`),
        schemaUrl: this.str(ro.schemaUrl, `${p}.schemaUrl`),
        scopeSpans: this.arr(ro.scopeSpans, `${p}.scopeSpans`).map((ss, j) => {
          const q = `${p}.scopeSpans[${j}]`;
          const so = this.obj(ss, q, ['scope', 'spans', 'schemaUrl']) || {};
          const sc = this.obj(so.scope, `${q}.scope`,
            ['name', 'version', 'attributes', 'droppedAttributesCount']) || {};
          return {
            scope: this.withAttrs({
              name: this.str(sc.name, `${q}.scope.name`),
              version: this.str(sc.version, `${q}.scope.version`),
            }, sc, `${q}.scope`),
            schemaUrl: this.str(so.schemaUrl, `${q}.schemaUrl`),
            spans: this.arr(so.spans, `${q}.spans`).map((s, k) => this.span(s, `${q}.spans[${k}]`)),
          };
        }),
      };
    });
  }
}

// OTLP/JSON text (string or Buffer) -> {resourceSpans, warnings}. Throws
// DecodeError for text that is not valid OTLP/JSON.
function decodeJson(text) {
  let v;
  try {
    v = JSON.parse(Buffer.isBuffer(text) ? text.toString('utf8') : text);
  } catch (e) {
    throw new DecodeError('JSON parse: ' + e.message);
  }
  const d = new JsonDecoder();
  const resourceSpans = d.request(v);
  return { resourceSpans, warnings: d.warnings };
}

function countSpans(resourceSpans) {
  let n = 0;
  for (const rs of resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

module.exports = { DecodeError, normalizeProto, decodeJson, countSpans, flatMap };
