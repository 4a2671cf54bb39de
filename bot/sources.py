"""Open what a user points the bot at: an alert file (.avro, .json) or a FITS sky map."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .gwalert import AlertError, GWAlert, parse_bytes
from .skymap.io import SkyMap, SkymapError, read_skymap


@dataclass(frozen=True)
class Source:
    """A sky map and, when it came inside an alert, that alert."""

    skymap: SkyMap
    alert: GWAlert | None


def load(path: str | Path) -> Source:
    """Read a file by its content (Avro, JSON or FITS, gzipped or not)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SkymapError(f"cannot read {path}: {exc.strerror}") from exc
    if data[:4] == b"Obj\x01" or data.lstrip()[:1] == b"{":
        alert = parse_bytes(data)
        if alert.skymap is None:
            raise AlertError(f"{alert.superevent_id} {alert.alert_type} alert carries no sky map")
        return Source(read_skymap(alert.skymap), alert)
    return Source(read_skymap(data), None)


def topic_for(data: bytes) -> str:
    """The stream topic a saved message came from, judged by its content (for replay)."""
    if data[:4] == b"Obj\x01":
        return "igwn.gwalert"
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "unknown"
    if not isinstance(record, dict):
        return "unknown"
    if "superevent_id" in record:
        return "igwn.gwalert"
    if "circularId" in record or ("header" in record and "body" in record):
        return "gcn.circular"
    schema = str(record.get("$schema", ""))
    if "/notices/" in schema:
        path = schema.split("/notices/", 1)[1].replace(".schema.json", "")
        return "gcn.notices." + path.replace("/", ".").replace("single_neutrino_alerts.", "")
    return "unknown"
