"""HTTP mode: Slack's requests at POST /slack/events, signature-checked by Bolt, on a threaded server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_bolt import App, BoltRequest

PATH = "/slack/events"
MAX_BODY = 2**20


def serve(app: App, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Start serving in a daemon thread; ``server.shutdown()`` stops it. ``port`` 0 picks a free one."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return

        def _send(self, status: int, body: str, headers: dict | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            for key, values in (headers or {}).items():
                for value in values if isinstance(values, list) else [values]:
                    if key.lower() != "content-length":
                        self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200 if self.path == "/health" else 404, "ok" if self.path == "/health" else "not found")

        def do_POST(self) -> None:
            if self.path.split("?")[0] != PATH:
                self._send(404, "not found")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, "too large")
                return
            body = self.rfile.read(length).decode("utf-8")
            response = app.dispatch(BoltRequest(body=body, headers={k.lower(): v for k, v in self.headers.items()}))
            self._send(response.status, response.body, response.headers)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http-mode", daemon=True).start()
    return server
