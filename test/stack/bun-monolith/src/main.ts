// bun-monolith: the Bun service of the full-stack tracing test (test/stack).
// It serves GET /api/organizations/:id/permissions by asking the Go backend
// (through tracegate) for /organizations/:id/permissions.
//
//   bun src/main.ts [--port N]      (0 or nothing: a free port)
//
// GO_CORE_URL names the Go backend (or the tracegate in front of it); the
// tracing settings are in tracing.ts. Prints "PORT <n>" on stdout once it
// listens. SIGTERM or SIGINT stops the server, flushes spans and exits 0.

import { createApp } from './app.ts';
import { HTTPClient } from './http-client.ts';
import { initTracing } from './tracing.ts';

function fail(msg: string): never {
  console.error(`bun-monolith: ${msg}`);
  process.exit(2);
}

function portArg(): number {
  const i = process.argv.indexOf('--port');
  const raw = i >= 0 ? process.argv[i + 1] : (process.env.PORT || '0');
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`bad port ${JSON.stringify(raw)}`);
  }
  return port;
}

let tracing;
try {
  tracing = initTracing();
} catch (err) {
  fail(String(err instanceof Error ? err.message : err));
}
const goCoreUrl = process.env.GO_CORE_URL ?? fail('GO_CORE_URL is not set');
const handler = createApp(tracing, new HTTPClient(goCoreUrl, tracing));
console.error(`bun-monolith: ${tracing.description}; go-core at ${goCoreUrl}`);

const server = Bun.serve({ hostname: '127.0.0.1', port: portArg(), fetch: handler });

let stopping = false;
function stop() {
  if (stopping) {
    return;
  }
  stopping = true;
  server.stop(true);
  // Shutdown flushes the batch processor: no span of a served request is lost.
  tracing.shutdown().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`bun-monolith: tracing shutdown failed: ${err}`);
      process.exit(1);
    });
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Bun installs the OS handler for a process.on('SIGTERM') listener from its
// event loop, not at the call; PORT is printed one turn later so that a
// runner which sees it can rely on the handler.
setImmediate(() => process.stdout.write(`PORT ${server.port}\n`));
