"""A small upstream for trying tracegate: a few JSON endpoints and a stream.

Run: /usr/bin/python3 test/demo/upstream.py PORT
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-upstream"

    def _json(self, status, obj):
        body = (json.dumps(obj, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/" or self.path.startswith("/hello"):
            self._json(200, {
                "message": "hello from the demo upstream, through tracegate",
                "path": self.path,
                "x-forwarded-for": self.headers.get("X-Forwarded-For"),
                "via": self.headers.get("Via"),
            })
        elif self.path.startswith("/slow"):
            time.sleep(0.3)
            self._json(200, {"slept_ms": 300})
        elif self.path.startswith("/events"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(5):
                data = ("data: tick %d\n\n" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(0.2)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._json(404, {"error": "no such demo endpoint", "path": self.path})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self._json(200, {"received_bytes": len(body)})

    def log_message(self, fmt, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
