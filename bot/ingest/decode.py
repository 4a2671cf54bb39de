"""Turn a raw stream message (topic, headers, bytes) into a typed message, or say why not."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.ingest.gcn import Circular, Notice, parse_circular, parse_notice
from bot.ingest.gwalert import AlertError, GWAlert, from_record, read_avro


@dataclass(frozen=True)
class RawMessage:
    """A message as the stream gave it, before it is understood."""

    topic: str
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp: float | None = None  # when the broker got it (epoch seconds), for messages without a time of their own

Message = GWAlert | Circular | Notice


class Unsupported(Exception):
    """A message in a format the bot does not read (VOEvent XML): skipped once per topic, not malformed."""


def _is_voevent(value: bytes, fmt: str | None) -> bool:
    head = value[:400].lstrip()
    return fmt == "voevent" or head.startswith(b"<?xml") or b"VOEvent" in head[:200] and head.startswith(b"<")


def _format(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    for name, value in headers or ():
        if name == "_format":
            return value.decode("utf-8", "replace").lower()
    return None


def _json(value: bytes) -> object:
    try:
        return json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AlertError(f"message is not valid JSON ({exc})") from exc


def decode(topic: str, value: bytes | None, headers: Sequence[tuple[str, bytes]] | None = None) -> Message:
    """Decode by topic and hop's ``_format`` header; raise AlertError with the reason."""
    if not value:
        raise AlertError("message is empty")
    fmt = _format(headers)
    if _is_voevent(value, fmt):
        raise Unsupported(f"topic {topic!r} carries VOEvent XML, which gwbot does not read; subscribe to the same "
                          "alerts in JSON or Avro (igwn.gwalert, gcn.circular, gcn.notices.*) instead")
    if "gwalert" in topic or topic.startswith("igwn."):
        record = read_avro(value) if fmt == "avro" or value[:4] == b"Obj\x01" else _json(value)
        if fmt == "avro" and isinstance(record, dict) and "format" in record and "content" in record:
            raise AlertError("Avro message wraps an envelope, not an igwn.gwalert record")
        return from_record(record)
    if "circular" in topic:
        return parse_circular(_json(value))
    if "notices" in topic or topic.startswith("gcn."):
        return parse_notice(_json(value), topic)
    raise AlertError(f"topic {topic!r} is not one the bot understands")


def dedup_key(message: Message, value: bytes) -> str:
    """The same alert read twice (or through both transports) has the same key."""
    if isinstance(message, GWAlert):
        if not message.time_created:  # nothing to tell two alerts apart by but their content
            return f"gw:{message.superevent_id}:{message.alert_type}:sha256:{hashlib.sha256(value).hexdigest()[:32]}"
        return f"gw:{message.superevent_id}:{message.alert_type}:{message.time_created}"
    if isinstance(message, Circular):
        return message.key
    return f"notice:{message.topic}:{message.ident}:{hashlib.sha256(value).hexdigest()[:16]}"
