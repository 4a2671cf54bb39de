"""Helpers for the end-to-end tests: alerts made from the real samples, waiting for conditions."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable

import fastavro
from conftest import data_file

from bot.gwalert import read_avro


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def avro_record(name: str) -> dict:
    return read_avro(data_file(name).read_bytes())


def avro_bytes(record: dict) -> bytes:
    """Re-encode a record with the schema of the real Hopskotch sample."""
    with open(data_file("MS181101ab-preliminary.avro"), "rb") as fh:
        schema = fastavro.reader(fh).writer_schema
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [record])
    return buf.getvalue()


def variant(name: str, superevent_id: str, alert_type: str | None = None, significant: bool | None = None,
            created: str | None = None) -> dict:
    """A copy of a real alert under another superevent ID (for tests needing many distinct alerts)."""
    record = avro_record(name) if name.endswith(".avro") else json.loads(data_file(name).read_bytes())
    record["superevent_id"] = superevent_id
    if alert_type:
        record["alert_type"] = alert_type
    if created:
        record["time_created"] = created
    if significant is not None and record.get("event"):
        record["event"]["significant"] = significant
    return record


def json_bytes(record: dict) -> bytes:
    record = json.loads(json.dumps(record, default=lambda b: base64.b64encode(b).decode()))
    return json.dumps(record).encode()
