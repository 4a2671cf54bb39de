"""HTTP mode: Slack's requests at POST /slack/events, on waitress (a production WSGI server).

waitress reads requests on one asynchronous loop and hands only complete
requests to a fixed pool of worker threads, so slow or stalled connections
cost a socket each, never a thread: 300 stalled clients do not starve
``/gw help``. Idle connections are closed after ``CHANNEL_TIMEOUT_S``.

Every request is answered in words and with the right status: a missing,
stale or garbled signature gets 401; a correctly signed request that is not a
Slack payload gets 400; a body over 1 MiB gets 413. Only then does Bolt see it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltRequest
from waitress.server import create_server

log = logging.getLogger(__name__)

PATH = "/slack/events"
MAX_BODY = 2**20
THREADS = 8
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_S = 30

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large", 500: "Internal Server Error"}


def well_formed(body: str, content_type: str) -> bool:
    """A Slack request body: a slash command or interactive payload (form), or an Events API envelope (JSON)."""
    try:
        if "json" in content_type:
            return isinstance(json.loads(body), dict) and "type" in json.loads(body)
        form = urllib.parse.parse_qs(body, strict_parsing=True)
    except ValueError:
        return False
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return False
        return isinstance(payload, dict) and "type" in payload
    return "command" in form


MAX_AGE_S = 300  # Slack's rule: refuse requests whose timestamp is more than five minutes off


def valid_signature(secret: str, raw: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """Slack's v0 signature over the raw bytes (https://api.slack.com/authentication/verifying-requests-from-slack);
    anything unreadable is simply not valid."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    if age > MAX_AGE_S:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def wsgi_app(app: App, signing_secret: str) -> Callable[[dict, StartResponse], Iterable[bytes]]:

    def reply(start_response: StartResponse, status: int, body: str,
              headers: dict[str, Any] | None = None) -> list[bytes]:
        data = body.encode()
        out = [("Content-Length", str(len(data)))]
        for key, values in (headers or {}).items():
            if key.lower() != "content-length":
                out += [(key, str(v)) for v in (values if isinstance(values, list) else [values])]
        if not any(k.lower() == "content-type" for k, _ in out):
            out.append(("Content-Type", "text/plain; charset=utf-8"))
        start_response(f"{status} {_REASONS.get(status, '')}".strip(), out)
        return [data]

    def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/health":
            return reply(start_response, 200, "ok")
        if path != PATH:
            return reply(start_response, 404, "not found")
        if method != "POST":
            return reply(start_response, 405, "POST only")
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return reply(start_response, 411, "Content-Length required")
        if length > MAX_BODY:
            return reply(start_response, 413, "too large")
        raw = environ["wsgi.input"].read(length)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not valid_signature(signing_secret, raw, timestamp, signature):
            return reply(start_response, 401, "invalid request signature")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return reply(start_response, 400, "body is not UTF-8")
        content_type = environ.get("CONTENT_TYPE", "")
        if not well_formed(body, content_type):
            return reply(start_response, 400, "not a Slack request body")
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        headers["content-type"] = content_type
        response = app.dispatch(BoltRequest(body=body, headers=headers))
        return reply(start_response, response.status, response.body, response.headers)

    return application


class Server:
    """A running waitress server; ``server_port`` (for port 0) and ``shutdown()``."""

    def __init__(self, app: App, signing_secret: str, port: int, host: str) -> None:
        self._server = create_server(wsgi_app(app, signing_secret), host=host, port=port, threads=THREADS,
                                     connection_limit=CONNECTION_LIMIT, channel_timeout=CHANNEL_TIMEOUT_S,
                                     cleanup_interval=5, max_request_body_size=MAX_BODY, ident="gwbot")
        self.server_port = int(self._server.effective_port)  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._server.run, name="http-mode", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._server.close()


def serve(app: App, port: int, host: str = "0.0.0.0", signing_secret: str | None = None) -> Server:
    """Start serving in a daemon thread; ``port`` 0 picks a free one."""
    return Server(app, signing_secret or app._signing_secret, port, host)  # by default the secret Bolt was given
