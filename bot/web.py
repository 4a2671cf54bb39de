"""JSON over HTTP for the services gwbot talks to besides Slack (Treasure Map, HERMES): one place that
sends a request, reads the answer, and sorts failures into "try again later" and "refused", with secrets
kept out of every message."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bot.logs import Redactor

__all__ = ["HttpTrouble", "JsonService", "drf_errors"]


class HttpTrouble(Exception):
    """The service answered with an error or could not be reached. ``status`` is None when nothing came
    back; ``retry``: worth trying again later (no answer, 429, 5xx); ``maybe_sent``: the request may have
    been acted on (a timeout or 5xx after it was sent)."""

    def __init__(self, message: str, status: int | None, body: Any = None, retry: bool = False,
                 maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry = retry
        self.maybe_sent = maybe_sent


@dataclass
class JsonService:
    """A JSON API under ``base_url`` with fixed headers (its token)."""

    name: str
    base_url: str
    headers: dict[str, str]
    timeout: float = 20.0

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        self._redact = Redactor(self.headers.values())

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        q = {k: v for k, v in (query or {}).items() if v is not None}
        return self.base_url + path.lstrip("/") + (f"?{urllib.parse.urlencode(q)}" if q else "")

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """The decoded answer; :class:`HttpTrouble` for anything but a 2xx JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url(path, query), data=data, method=method, headers={
            **self.headers, "Content-Type": "application/json", "Accept": "application/json"})
        sent = method != "GET"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read() or b""
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw[:300].decode(errors="replace")
            transient = exc.code == 429 or exc.code >= 500
            raise HttpTrouble(self._redact(f"{self.name} answered HTTP {exc.code}: {detail}"[:800]), exc.code,
                              detail, retry=transient, maybe_sent=sent and exc.code >= 500) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise HttpTrouble(self._redact(f"cannot reach {self.name}: {exc}"), None, retry=True,
                              maybe_sent=sent) from None
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise HttpTrouble(f"{self.name} answered with something that is not JSON", 200, raw[:300], retry=True,
                              maybe_sent=sent) from None


def drf_errors(errors: Any, path: str = "") -> list[str]:
    """DRF's nested error structure as readable lines: 'requests[2].configurations[0].target.dec: …'.
    Errors about the whole object (``non_field_errors``, e.g. the proposal) name the object, not the key."""
    if isinstance(errors, dict):
        return [line for key, value in errors.items()
                for line in drf_errors(value, path if key == "non_field_errors" else
                                            f"{path}.{key}" if path else str(key))]
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [f"{path}: {e}" if path else e for e in errors]
        return [line for i, value in enumerate(errors) if value for line in drf_errors(value, f"{path}[{i}]")]
    return [f"{path}: {errors}" if path else str(errors)]
