"""Structured logs: one JSON object per line, saying what happened to which alert.

Every line is redacted on its way out: the secrets in use (tokens, passwords)
and credentials embedded in URLs never reach the log, wherever the text came
from (our own messages, an exception, an error echoed by an external service).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path

URL_CREDENTIALS = re.compile(r"(://)([^@/\s\"']+)@")  # user[:password]@ inside a URL


def redact_url(text: str) -> str:
    """Credentials inside URLs replaced by ***."""
    return URL_CREDENTIALS.sub(r"\1***@", text)


class Redactor:
    """Replaces known secrets, and user:password@ in URLs, with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact_url(text)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup(level: str = "INFO", secrets: Iterable[str] = (), file: Path | None = None) -> None:
    """JSON lines on stderr, or appended to ``file`` (the demo keeps the terminal for its readable lines)."""
    handler: logging.Handler = logging.StreamHandler(sys.stderr) if file is None else logging.FileHandler(file)
    handler.setFormatter(JsonFormatter(Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "slack_sdk", "hop", "adc-streaming", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
