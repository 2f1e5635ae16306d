'use strict';
// An OTLP trace receiver for tests: OTLP/HTTP (binary protobuf and JSON on
// POST /v1/traces, gzip Content-Encoding) and OTLP/gRPC
// (opentelemetry.proto.collector.trace.v1.TraceService/Export over h2c, gzip
// grpc-encoding), with a control API that injects faults.
//
//   node receiver.js [--host 127.0.0.1] [--http-port 0] [--grpc-port 0]
//                    [--control-port 0] [--out FILE] [--discard]
//
// Port 0 picks a free port. When every listener is up it prints one line on
// stdout: {"http_port":N,"grpc_port":M,"control_port":C}. The control API
// (POST /_control, GET /_control, GET /_stats, DELETE /_stats) is served on
// the control port, which never goes down, and also on the HTTP port while
// that one is up. See README.md beside this file for the log line, the modes
// and the counters.
//
// Every protobuf body is decoded with the current OTLP schema and with the
// opentelemetry-proto v0.18 .proto files (schema.js); OTLP/JSON bodies with
// the OTLP/JSON rules (normalize.js). --discard answers every export with an
// empty success without decoding anything, and counts requests and bytes.

const fs = require('fs');
const http = require('http');
const zlib = require('zlib');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const schema = require('./schema');
const { DecodeError, normalizeProto, decodeJson, countSpans } = require('./normalize');

const MAX_BODY = 20 * 1024 * 1024; // the OTLP/HTTP recommended request limit
const TRACES_PATH = '/v1/traces';
const CT_PROTOBUF = 'application/x-protobuf';
const CT_JSON = 'application/json';

const GRPC_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

// HTTP status -> gRPC status for the "status" mode on the gRPC listener.
const HTTP_TO_GRPC = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.UNIMPLEMENTED,
  408: grpc.status.DEADLINE_EXCEEDED,
  413: grpc.status.RESOURCE_EXHAUSTED,
  429: grpc.status.RESOURCE_EXHAUSTED,
  500: grpc.status.INTERNAL,
  501: grpc.status.UNIMPLEMENTED,
  502: grpc.status.UNAVAILABLE,
  503: grpc.status.UNAVAILABLE,
  504: grpc.status.UNAVAILABLE,
};

function grpcCodeFor(httpCode) {
  return HTTP_TO_GRPC[httpCode] !== undefined ? HTTP_TO_GRPC[httpCode] : grpc.status.UNKNOWN;
}

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = { host: '127.0.0.1', httpPort: 0, grpcPort: 0, controlPort: 0, out: null, discard: false };
  const num = (v, name) => {
    if (!/^\d+$/.test(v || '') || Number(v) > 65535) throw new Error(`${name} needs a port number`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--host': o.host = argv[++i]; break;
      case '--http-port': o.httpPort = num(argv[++i], a); break;
      case '--grpc-port': o.grpcPort = num(argv[++i], a); break;
      case '--control-port': o.controlPort = num(argv[++i], a); break;
      case '--out': o.out = argv[++i]; break;
      case '--discard': o.discard = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const outFd = opts.out && !opts.discard ? fs.openSync(opts.out, 'a') : null;

// Written before the answer is sent, so a client that has its answer finds
// the line in the file.
function logLine(entry) {
  if (outFd !== null) fs.writeSync(outFd, JSON.stringify(entry) + '\n');
}

// ------------------------------------------------------------------ modes

let mode = { mode: 'ok' };

// The mode that applies to one export request; a mode with "times" reverts
// to "ok" once it has been applied that many times.
function takeMode() {
  const m = mode;
  if (m.times !== undefined) {
    m.times -= 1;
    if (m.times <= 0) mode = { mode: 'ok' };
  }
  return m;
}

function retryDelayMs(retryAfter) {
  if (retryAfter === undefined || retryAfter === null) return null;
  const s = String(retryAfter);
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

function validateMode(b) {
  const times = b.times;
  if (times !== undefined && !(Number.isInteger(times) && times > 0)) {
    throw new Error('"times" must be a positive integer');
  }
  const m = { mode: b.mode };
  if (times !== undefined) m.times = times;
  switch (b.mode) {
    case 'ok':
      return { mode: 'ok' };
    case 'status':
      if (!Number.isInteger(b.code) || b.code < 400 || b.code > 599) {
        throw new Error('"status" needs "code": an HTTP status 400..599');
      }
      m.code = b.code;
      if (b.retry_after !== undefined) m.retry_after = String(b.retry_after);
      m.grpc_code = b.grpc_code !== undefined ? b.grpc_code : grpcCodeFor(b.code);
      if (!Number.isInteger(m.grpc_code) || m.grpc_code < 1 || m.grpc_code > 16) {
        throw new Error('"grpc_code" must be a gRPC status 1..16');
      }
      m.message = b.message !== undefined ? String(b.message) : `injected status ${b.code}`;
      return m;
    case 'partial':
      if (!Number.isInteger(b.rejected) || b.rejected < 0) {
        throw new Error('"partial" needs "rejected": a count >= 0');
      }
      m.rejected = b.rejected;
      m.message = b.message !== undefined ? String(b.message) : '';
      return m;
    case 'hang':
      if (!Number.isInteger(b.ms) || b.ms < 0) throw new Error('"hang" needs "ms" >= 0');
      m.ms = b.ms;
      return m;
    case 'reset':
      return m;
    default:
      throw new Error(`unknown mode ${JSON.stringify(b.mode)}`);
  }
}

// ------------------------------------------------------------------ stats

function newStats() {
  if (opts.discard) return { requests: 0, by_protocol: {}, by_status: {}, bytes: 0 };
  return {
    requests: 0,
    by_protocol: {},
    by_status: {},
    bytes: 0,
    decode_errors: 0,
    spans_received: 0,
    spans_accepted: 0,
    spans_rejected: 0,
    spans_in_failed_requests: 0,
  };
}
let stats = newStats();

function bump(map, key) {
  map[key] = (map[key] || 0) + 1;
}

// outcome: "accepted" (answered success; rejected spans from partial
// success subtracted) or "failed" (error status, reset, client gone).
function count(entry, statusKey, outcome, rejected) {
  stats.requests += 1;
  bump(stats.by_protocol, entry.protocol);
  bump(stats.by_status, statusKey);
  stats.bytes += entry.bytes;
  if (entry.decode_error) stats.decode_errors += 1;
  const n = entry.span_count;
  stats.spans_received += n;
  if (outcome === 'accepted') {
    const r = Math.min(rejected || 0, n);
    stats.spans_rejected += r;
    stats.spans_accepted += n - r;
  } else {
    stats.spans_in_failed_requests += n;
  }
}

// ------------------------------------------------------------------ decoding

function decodeBody(kind, body) {
  const res = { resource_spans: [], span_count: 0, decode_error: null, warnings: [] };
  try {
    if (kind === 'json') {
      const d = decodeJson(body);
      res.resource_spans = d.resourceSpans;
      res.warnings = d.warnings;
    } else {
      const d = schema.decodeRequest(body);
      if (d.error) throw new DecodeError(d.error);
      res.resource_spans = normalizeProto(d.message);
    }
    res.span_count = countSpans(res.resource_spans);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    res.decode_error = e.message;
  }
  return res;
}

function sleepOrClose(ms, emitter, closeEvent, isGone) {
  return new Promise(resolve => {
    if (isGone()) { resolve(); return; }
    const done = () => { clearTimeout(t); emitter.removeListener(closeEvent, done); resolve(); };
    const t = setTimeout(done, ms);
    emitter.once(closeEvent, done);
  });
}

// ------------------------------------------------------------------ HTTP

const httpSockets = new Set();
let listening = false;

function mediaType(ct) {
  return (ct || '').split(';')[0].trim().toLowerCase();
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    let over = false;
    req.on('data', c => {
      n += c.length;
      if (n > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), length: n, over }));
    req.on('error', reject);
  });
}

function gunzip(buf) {
  return zlib.gunzipSync(buf, { maxOutputLength: MAX_BODY });
}

function sendJson(res, code, obj, extra) {
  const body = JSON.stringify(obj) + '\n';
  res.writeHead(code, Object.assign({ 'Content-Type': CT_JSON, 'Content-Length': Buffer.byteLength(body) }, extra || {}));
  res.end(body);
}

// Answers an export request and returns the logged form of the answer.
function httpAnswer(res, kind, status, bodyObj, extraHeaders) {
  const headers = Object.assign({}, extraHeaders || {});
  let body;
  if (kind === 'protobuf') {
    headers['content-type'] = CT_PROTOBUF;
    if (status === 200) {
      const p = bodyObj.partialSuccess;
      body = schema.encodeResponse(p ? { rejected: p.rejectedSpans, message: p.errorMessage } : null);
    } else {
      body = schema.encodeStatus(bodyObj.code, bodyObj.message);
    }
  } else if (kind === 'json') {
    headers['content-type'] = CT_JSON;
    body = Buffer.from(JSON.stringify(bodyObj));
  } else {
    headers['content-type'] = 'text/plain; charset=utf-8';
    body = Buffer.from((bodyObj.message || '') + '\n');
  }
  headers['content-length'] = body.length;
  const logged = { status, headers: Object.assign({}, headers), body: bodyObj };
  return { logged, send: () => { res.writeHead(status, headers); res.end(body); } };
}

function partialBody(m) {
  return { partialSuccess: { rejectedSpans: String(m.rejected), errorMessage: m.message } };
}

async function handleExport(req, res) {
  const ct = mediaType(req.headers['content-type']);
  let kind = null;
  if (req.method === 'POST' && req.url.split('?')[0] === TRACES_PATH) {
    if (ct === CT_PROTOBUF) kind = 'protobuf';
    else if (ct === CT_JSON) kind = 'json';
  }
  const protocol = kind ? `http/${kind}` : 'http';
  const { body: raw, length, over } = await readBody(req, MAX_BODY);
  const encoding = req.headers['content-encoding'] ? req.headers['content-encoding'].trim().toLowerCase() : null;
  const entry = {
    seq: 0,
    time: new Date().toISOString(),
    protocol,
    method: req.method,
    path: req.url,
    headers: Object.assign({}, req.headers),
    content_type: req.headers['content-type'] || null,
    content_encoding: encoding,
    bytes: length,
    decoded_bytes: 0,
    decode_error: null,
    warnings: [],
    span_count: 0,
    resource_spans: [],
    response: null,
  };
  const finish = (answer, statusKey, outcome, rejected) => {
    entry.seq = ++seq;
    entry.response = answer.logged;
    logLine(entry);
    count(entry, statusKey, outcome, rejected);
    answer.send();
  };

  if (!kind) {
    let status = 404;
    let msg = `no OTLP endpoint at ${req.method} ${req.url}`;
    if (req.url.split('?')[0] === TRACES_PATH) {
      status = req.method === 'POST' ? 415 : 405;
      msg = req.method === 'POST' ? `unsupported content type ${JSON.stringify(ct)}` : 'POST only';
    }
    const a = httpAnswer(res, null, status, { message: msg }, status === 405 ? { allow: 'POST' } : null);
    a.logged.mode = null;
    finish(a, String(status), 'failed');
    return;
  }

  const m = takeMode();
  let body = null;
  let early = null; // an answer decided before decoding: 413, 415
  if (over) {
    early = [413, `request body larger than ${MAX_BODY} bytes`];
  } else if (encoding === null || encoding === 'identity') {
    body = raw;
  } else if (encoding === 'gzip') {
    try {
      body = gunzip(raw);
    } catch (e) {
      early = e.code === 'ERR_BUFFER_TOO_LARGE'
        ? [413, `decompressed body larger than ${MAX_BODY} bytes`]
        : [400, `gzip: ${e.message}`];
    }
  } else {
    early = [415, `unsupported content encoding ${JSON.stringify(encoding)}`];
  }
  if (body) {
    entry.decoded_bytes = body.length;
    Object.assign(entry, decodeBody(kind, body));
    if (entry.decode_error) early = [400, entry.decode_error];
  }

  const errorAnswer = (status, code, message, extra) => {
    const a = httpAnswer(res, kind, status, { code, message }, extra);
    a.logged.mode = m.mode;
    return a;
  };

  if (m.mode === 'reset') {
    entry.seq = ++seq;
    entry.response = { mode: 'reset', reset: true };
    logLine(entry);
    count(entry, 'reset', 'failed');
    if (typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
    else req.socket.destroy();
    return;
  }
  if (m.mode === 'status') {
    const extra = m.retry_after !== undefined ? { 'retry-after': m.retry_after } : null;
    finish(errorAnswer(m.code, m.grpc_code, m.message, extra), String(m.code), 'failed');
    return;
  }
  if (m.mode === 'hang') {
    await sleepOrClose(m.ms, req.socket, 'close', () => req.socket.destroyed);
    if (req.socket.destroyed) {
      entry.seq = ++seq;
      entry.response = { mode: 'hang', client_gone: true, delay_ms: m.ms };
      logLine(entry);
      count(entry, 'client_gone', 'failed');
      return;
    }
  }
  if (early) {
    const [status, msg] = early;
    finish(errorAnswer(status, grpcCodeFor(status), msg), String(status), 'failed');
    return;
  }
  const bodyObj = m.mode === 'partial' ? partialBody(m) : {};
  const a = httpAnswer(res, kind, 200, bodyObj);
  a.logged.mode = m.mode;
  if (m.mode === 'hang') a.logged.delay_ms = m.ms;
  finish(a, '200', 'accepted', m.mode === 'partial' ? m.rejected : 0);
}

let seq = 0;

// ------------------------------------------------------------------ control

async function handleControl(req, res, viaHttpPort) {
  const p = req.url.split('?')[0];
  if (p === '/_stats') {
    if (req.method === 'GET') { sendJson(res, 200, stats); return; }
    if (req.method === 'DELETE') { stats = newStats(); sendJson(res, 200, stats); return; }
    sendJson(res, 405, { error: 'GET or DELETE' }, { allow: 'GET, DELETE' });
    return;
  }
  if (req.method === 'GET') {
    sendJson(res, 200, { mode, listening });
    return;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: 'GET or POST' }, { allow: 'GET, POST' });
    return;
  }
  const { body } = await readBody(req, 65536);
  let b;
  try {
    b = JSON.parse(body.toString('utf8'));
    if (b === null || typeof b !== 'object') throw new Error('expected a JSON object');
  } catch (e) {
    sendJson(res, 400, { error: `control body: ${e.message}` });
    return;
  }
  if (opts.discard) {
    sendJson(res, 400, { error: 'no modes in --discard' });
    return;
  }
  try {
    if (b.mode === 'down') {
      if (b.ms !== undefined && !(Number.isInteger(b.ms) && b.ms >= 0)) throw new Error('"ms" must be >= 0');
      // The control request itself may have come in on the HTTP port: it is
      // answered on its own connection, which closes after the answer.
      await down(viaHttpPort ? req.socket : null);
      if (b.ms !== undefined) {
        upTimer = setTimeout(() => { upTimer = null; up().catch(fatal); }, b.ms);
      }
      sendJson(res, 200, { mode, listening }, viaHttpPort ? { connection: 'close' } : null);
      return;
    }
    if (b.mode === 'up') {
      await up();
      sendJson(res, 200, { mode, listening });
      return;
    }
    mode = validateMode(b);
  } catch (e) {
    sendJson(res, 400, { error: e.message });
    return;
  }
  sendJson(res, 200, { mode, listening });
}

function isControl(req) {
  const p = req.url.split('?')[0];
  return p === '/_control' || p === '/_stats';
}

function fatal(e) {
  process.stderr.write(`receiver: ${e && e.stack ? e.stack : e}\n`);
  process.exit(2);
}

// ------------------------------------------------------------------ discard

const discardEmpty = Buffer.alloc(0);

function handleDiscard(req, res) {
  let n = 0;
  req.on('data', c => { n += c.length; });
  req.on('end', () => {
    const ct = mediaType(req.headers['content-type']);
    const protocol = ct === CT_JSON ? 'http/json' : ct === CT_PROTOBUF ? 'http/protobuf' : 'http';
    stats.requests += 1;
    stats.bytes += n;
    bump(stats.by_protocol, protocol);
    bump(stats.by_status, '200');
    if (protocol === 'http/json') {
      res.writeHead(200, { 'content-type': CT_JSON, 'content-length': 2 });
      res.end('{}');
    } else {
      res.writeHead(200, { 'content-type': CT_PROTOBUF, 'content-length': 0 });
      res.end(discardEmpty);
    }
  });
}

// ------------------------------------------------------------------ gRPC

const serviceDef = (() => {
  const pkg = protoLoader.loadSync(schema.V018_SERVICE_FILE, { includeDirs: [schema.V018_DIR] });
  const def = pkg['opentelemetry.proto.collector.trace.v1.TraceService'];
  const exp = def.Export;
  // Bodies are handed over as bytes: the handler decodes them with both
  // schemas itself and encodes its answers with the current one.
  return {
    Export: Object.assign({}, exp, {
      requestDeserialize: b => b,
      requestSerialize: b => b,
      responseSerialize: b => b,
      responseDeserialize: b => b,
    }),
  };
})();

const STREAM_HEADERS = Symbol('headers');
const STREAM_BYTES = Symbol('bytes');

// The HTTP/2 stream behind a grpc-js unary call (grpc-js 1.14 keeps it on
// the innermost intercepting call), for its raw headers, its byte count and
// its connection.
function streamOf(call) {
  let c = call.call;
  for (let i = 0; c && i < 8; i++) {
    if (c.stream && c.stream.session !== undefined) return c.stream;
    c = c.nextCall;
  }
  return null;
}

function hookHttp2(server) {
  // grpc-js keeps its http2 servers in a private map; watching their streams
  // is the only way to see the request's raw headers and wire bytes.
  const servers = server.http2Servers ? [...server.http2Servers.keys()] : [];
  for (const h2 of servers) {
    h2.prependListener('stream', (stream, headers) => {
      stream[STREAM_HEADERS] = headers;
      stream[STREAM_BYTES] = 0;
      stream.on('data', c => { stream[STREAM_BYTES] += c.length; });
    });
  }
}

function grpcExport(call, callback) {
  const stream = streamOf(call);
  let headers;
  if (stream && stream[STREAM_HEADERS]) {
    headers = {};
    for (const [k, v] of Object.entries(stream[STREAM_HEADERS])) {
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
  } else {
    headers = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) {
      headers[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
    }
  }
  const body = call.request;
  if (opts.discard) {
    stats.requests += 1;
    stats.bytes += stream && stream[STREAM_BYTES] ? stream[STREAM_BYTES] : body.length;
    bump(stats.by_protocol, 'grpc');
    bump(stats.by_status, 'grpc:OK');
    callback(null, discardEmpty);
    return;
  }
  const entry = {
    seq: 0,
    time: new Date().toISOString(),
    protocol: 'grpc',
    method: headers[':method'] || 'POST',
    path: headers[':path'] || serviceDef.Export.path,
    headers,
    content_type: headers['content-type'] || null,
    content_encoding: headers['grpc-encoding'] || null,
    bytes: stream && stream[STREAM_BYTES] ? stream[STREAM_BYTES] : body.length + 5,
    decoded_bytes: body.length,
    decode_error: null,
    warnings: [],
    span_count: 0,
    resource_spans: [],
    response: null,
  };
  Object.assign(entry, decodeBody('protobuf', body));

  let cancelled = false;
  call.on('cancelled', () => { cancelled = true; });
  const m = takeMode();

  const log = (resp, statusKey, outcome, rejected) => {
    entry.seq = ++seq;
    entry.response = Object.assign({ mode: m.mode }, resp);
    logLine(entry);
    count(entry, statusKey, outcome, rejected);
  };
  const fail = (code, message, delayMs) => {
    const resp = { grpc_code: code, grpc_status: GRPC_NAMES[code], message };
    const err = { code, details: message };
    if (typeof delayMs === 'number') {
      resp.retry_delay_ms = delayMs;
      const md = new grpc.Metadata();
      md.set('grpc-status-details-bin', schema.encodeStatus(code, message, delayMs));
      err.metadata = md;
    }
    log(resp, `grpc:${GRPC_NAMES[code]}`, 'failed');
    callback(err);
  };
  const succeed = () => {
    const partial = m.mode === 'partial' ? { rejected: m.rejected, message: m.message } : null;
    const resp = { grpc_code: 0, grpc_status: 'OK', body: partial ? partialBody(m) : {} };
    if (m.mode === 'hang') resp.delay_ms = m.ms;
    log(resp, 'grpc:OK', 'accepted', partial ? partial.rejected : 0);
    callback(null, schema.encodeResponse(partial));
  };

  if (m.mode === 'reset') {
    log({ reset: true }, 'reset', 'failed');
    const sock = stream && stream.session && stream.session.socket;
    if (sock && typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
    else if (stream && stream.session) stream.session.destroy();
    return;
  }
  if (m.mode === 'status') {
    fail(m.grpc_code, m.message, m.retry_after !== undefined ? retryDelayMs(m.retry_after) : undefined);
    return;
  }
  const answer = () => {
    if (m.mode === 'hang' && cancelled) {
      log({ client_gone: true, delay_ms: m.ms }, 'client_gone', 'failed');
      return;
    }
    if (entry.decode_error) fail(grpc.status.INVALID_ARGUMENT, entry.decode_error);
    else succeed();
  };
  if (m.mode === 'hang') {
    sleepOrClose(m.ms, call, 'cancelled', () => cancelled).then(answer);
    return;
  }
  answer();
}

let grpcServer = null;

function startGrpc(port) {
  return new Promise((resolve, reject) => {
    const s = new grpc.Server({ 'grpc.max_receive_message_length': MAX_BODY });
    s.addService(serviceDef, { Export: grpcExport });
    s.bindAsync(`${opts.host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) { reject(err); return; }
      hookHttp2(s);
      grpcServer = s;
      resolve(bound);
    });
  });
}

// ------------------------------------------------------------------ listeners

const httpServer = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
  const h = isControl(req) ? handleControl(req, res, true)
    : opts.discard ? handleDiscard(req, res) : handleExport(req, res);
  if (h && h.catch) h.catch(fatal);
});
httpServer.on('connection', s => {
  httpSockets.add(s);
  s.on('close', () => httpSockets.delete(s));
});
httpServer.on('clientError', (err, socket) => { socket.destroy(); });

const controlServer = http.createServer((req, res) => {
  if (!isControl(req)) { sendJson(res, 404, { error: 'control port: /_control and /_stats only' }); return; }
  handleControl(req, res, false).catch(fatal);
});

function listenHttp(server, port) {
  return new Promise((resolve, reject) => {
    const onErr = e => reject(e);
    server.once('error', onErr);
    server.listen(port, opts.host, () => {
      server.removeListener('error', onErr);
      resolve(server.address().port);
    });
  });
}

let upTimer = null;

// Closes both export listeners and every connection on them (except keep,
// the control request's own connection, which closes after its answer).
async function down(keep) {
  if (upTimer) { clearTimeout(upTimer); upTimer = null; }
  if (!listening) return;
  listening = false;
  httpServer.close();
  for (const s of httpSockets) {
    if (s !== keep) s.destroy();
  }
  if (grpcServer) {
    grpcServer.forceShutdown();
    grpcServer = null;
  }
}

// Listens again on the same ports.
async function up() {
  if (upTimer) { clearTimeout(upTimer); upTimer = null; }
  if (listening) return;
  await listenHttp(httpServer, opts.httpPort);
  await startGrpc(opts.grpcPort);
  listening = true;
}

async function main() {
  opts.httpPort = await listenHttp(httpServer, opts.httpPort);
  opts.grpcPort = await startGrpc(opts.grpcPort);
  opts.controlPort = await listenHttp(controlServer, opts.controlPort);
  listening = true;
  process.stdout.write(JSON.stringify({
    http_port: opts.httpPort,
    grpc_port: opts.grpcPort,
    control_port: opts.controlPort,
  }) + '\n');
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}

main().catch(fatal);
