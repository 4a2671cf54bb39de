"""A threaded local HTTP server answering JSON, the base of the Treasure Map and HERMES stand-ins."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


#: a route answers (status, body, extra headers)
Reply = tuple[int, Any, dict[str, str]]


class JsonServer:
    """Serves ``self.route(request)`` on 127.0.0.1; ``url`` ends with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(self.route))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{prefix}"

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _handler(route: Callable[[Request], Reply]):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def _serve(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query).items()}
                headers_in = {k.lower(): v for k, v in self.headers.items()}  # HTTP header names ignore case
                status, answer, headers = route(Request(self.command, split.path, query, headers_in, body))
                data = json.dumps(answer, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        return Handler
