"""LVK ``igwn.gwalert`` records (igwn-gwalert-schema) in both transports.

SCiMMA Hopskotch carries an Avro object-container file with one record and
the sky map as raw bytes; NASA GCN Kafka carries JSON with base64 sky maps.
Both become one :class:`GWAlert`.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fastavro

ALERT_TYPES = ("EARLYWARNING", "PRELIMINARY", "INITIAL", "UPDATE", "RETRACTION")
#: GraceDB superevent IDs: S (production), MS (mock), TS (test), GS; six digits of date, lower-case letters.
SUPEREVENT_ID_RE = re.compile(r"^[MTG]?S\d{6}[a-z]{1,4}$")


class AlertError(ValueError):
    """A message that is not a valid alert; the message says what is wrong."""


@dataclass(frozen=True)
class GWEvent:
    time: str
    far: float | None  # None when the alert's value is unusable (reported in GWAlert.problems)
    significant: bool
    instruments: list[str]
    group: str
    pipeline: str
    search: str
    classification: dict[str, float] = field(default_factory=dict)
    properties: dict[str, float] = field(default_factory=dict)
    duration: float | None = None
    central_frequency: float | None = None
    skymap: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ExternalCoinc:
    observatory: str
    search: str
    time_difference: float
    time_coincidence_far: float | None
    time_sky_position_coincidence_far: float | None
    gcn_notice_id: int | None = None
    ivorn: str | None = None
    combined_skymap: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GWAlert:
    superevent_id: str
    alert_type: str
    time_created: str
    event: GWEvent | None
    external_coinc: ExternalCoinc | None
    urls: dict[str, str]
    problems: tuple[str, ...] = ()  # fields that could not be used, in words; shown as unknown

    @property
    def is_mock(self) -> bool:
        """Mock (MDC) superevents are marked only by their ID prefix."""
        return self.superevent_id.startswith("M")

    @property
    def skymap(self) -> bytes | None:
        """The event's localization: the GW-only sky map (the combined one assumes the coincidence is real)."""
        return self.event.skymap if self.event else None

    @property
    def combined_skymap(self) -> bytes | None:
        """The GW x external-coincidence (RAVEN) sky map, when there is one."""
        return self.external_coinc.combined_skymap if self.external_coinc else None

    @property
    def created(self) -> float | None:
        """``time_created`` as epoch seconds (None when absent or unreadable)."""
        return epoch(self.time_created)


def epoch(text: str | None) -> float | None:
    """An ISO 8601 UTC time as epoch seconds, or None."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when).timestamp()


def _number(value: Any, what: str, problems: list[str]) -> float | None:
    """A finite number, or None with the reason added to ``problems``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{what} {value!r} is not a number; shown as unknown")
        return None
    if not math.isfinite(number):
        problems.append(f"{what} is {value!r}; shown as unknown")
        return None
    return number


def _fractions(values: Any, what: str, problems: list[str]) -> dict[str, float]:
    """A {name: probability} table; entries that are not numbers are left out (and reported)."""
    if not values:
        return {}
    if not isinstance(values, dict):
        problems.append(f"{what} is not a table of probabilities; left out")
        return {}
    out = {}
    for name, value in values.items():
        number = _number(value, f"{what} {name}", problems)
        if number is not None:
            out[str(name)] = number
    return out


def _skymap_bytes(value: Any, where: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AlertError(f"{where} is not valid base64 ({exc})") from exc
    raise AlertError(f"{where} has unexpected type {type(value).__name__}")


def _require(record: dict, key: str, where: str) -> Any:
    if key not in record:
        raise AlertError(f"{where} lacks required field {key!r}")
    return record[key]


def from_record(record: Any) -> GWAlert:
    """Validate and convert one decoded record (Avro or JSON dict)."""
    if not isinstance(record, dict):
        raise AlertError(f"alert is a {type(record).__name__}, expected an object")
    superevent_id = _require(record, "superevent_id", "alert")
    alert_type = _require(record, "alert_type", "alert")
    if not isinstance(superevent_id, str) or not superevent_id:
        raise AlertError("alert superevent_id is empty")
    if not SUPEREVENT_ID_RE.match(superevent_id):
        raise AlertError(f"superevent_id {superevent_id[:40]!r} is not a GraceDB superevent ID (like S230918aq)")
    if alert_type not in ALERT_TYPES:
        raise AlertError(f"alert_type {alert_type!r} is not one of {', '.join(ALERT_TYPES)}")
    event = record.get("event")
    if event is None and alert_type != "RETRACTION":
        raise AlertError(f"{alert_type} alert for {superevent_id} has no event")
    ext = record.get("external_coinc")
    problems: list[str] = []
    try:
        if event is not None and epoch(_require(event, "time", "event")) is None:
            problems.append(f"event time {event['time']!r} is not a readable time; shown as unknown")
        gw_event = None if event is None else GWEvent(
            time=str(event["time"]),
            far=_number(_require(event, "far", "event"), "false alarm rate", problems),
            significant=bool(_require(event, "significant", "event")),
            instruments=[str(i) for i in _require(event, "instruments", "event")],
            group=str(_require(event, "group", "event")),
            pipeline=str(_require(event, "pipeline", "event")),
            search=str(event.get("search") or ""),
            classification=_fractions(event.get("classification"), "classification", problems),
            properties=_fractions(event.get("properties"), "property", problems),
            duration=None if event.get("duration") is None else _number(event["duration"], "duration", problems),
            central_frequency=None if event.get("central_frequency") is None else
            _number(event["central_frequency"], "central frequency", problems),
            skymap=_skymap_bytes(event.get("skymap"), "event.skymap"),
        )
        coinc = None if ext is None else ExternalCoinc(
            observatory=_require(ext, "observatory", "external_coinc"),
            search=_require(ext, "search", "external_coinc"),
            time_difference=float(_require(ext, "time_difference", "external_coinc")),
            time_coincidence_far=ext.get("time_coincidence_far"),
            time_sky_position_coincidence_far=ext.get("time_sky_position_coincidence_far"),
            gcn_notice_id=ext.get("gcn_notice_id"),
            ivorn=ext.get("ivorn"),
            combined_skymap=_skymap_bytes(ext.get("combined_skymap"), "external_coinc.combined_skymap"),
        )
    except AlertError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise AlertError(f"alert {superevent_id} has a malformed field ({exc})") from exc
    return GWAlert(
        superevent_id=superevent_id,
        alert_type=alert_type,
        time_created=str(record.get("time_created") or ""),
        event=gw_event,
        external_coinc=coinc,
        urls={str(k): str(v) for k, v in (record.get("urls") or {}).items()},
        problems=tuple(problems),
    )


def read_avro(data: bytes) -> dict:
    """The single record of an Avro object-container file."""
    try:
        records = list(fastavro.reader(io.BytesIO(data)))
    except Exception as exc:  # fastavro raises several types on corrupt input
        raise AlertError(f"not a readable Avro container ({type(exc).__name__}: {exc})") from exc
    if len(records) != 1 or not isinstance(records[0], dict):
        raise AlertError(f"Avro container holds {len(records)} records, expected 1 record")
    return records[0]


def parse_bytes(data: bytes) -> GWAlert:
    """An alert from raw message bytes in either transport (Avro or JSON)."""
    if data[:4] == b"Obj\x01":
        return from_record(read_avro(data))
    try:
        return from_record(json.loads(data))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AlertError(f"message is neither Avro nor JSON ({exc})") from exc
