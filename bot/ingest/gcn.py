"""GCN circulars and GCN JSON notices (GRBs, neutrinos, X-ray): one small record each.

Circulars come as hop's circular format (``{"header": {...}, "body": ...}``)
or GCN's JSON (``circularId``, ``subject``, ``body``). Notices are GCN's
unified JSON schema; the fields differ per mission, so a notice keeps the
common ones (time, position, error, FAR, the superevent it names) and a few
mission-specific facts for display.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.ingest.gwalert import AlertError

SUPEREVENT_RE = re.compile(r"\b(M?S\d{6}[a-z]{1,3})\b")


@dataclass(frozen=True)
class Circular:
    number: int | None
    subject: str
    body: str
    submitter: str = ""
    event_ids: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        if self.number is not None:
            return f"circular:{self.number}"
        return "circular:" + hashlib.sha256((self.subject + self.body).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Notice:
    kind: str  # e.g. "IceCube LVK Nu Track Search", "Swift BAT-GUANO"
    topic: str
    trigger_time: str | None
    ra: float | None = None
    dec: float | None = None
    error_deg: float | None = None
    far: float | None = None
    alert_type: str = ""
    test: bool = False
    event_ids: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    ident: str = ""


def superevents_in(*texts: str) -> tuple[str, ...]:
    """Superevent IDs named in free text, in order, without repeats."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in SUPEREVENT_RE.findall(text or ""):
            seen[match] = None
    return tuple(seen)


def parse_circular(record: Any) -> Circular:
    if not isinstance(record, dict):
        raise AlertError("circular is not a JSON object")
    if "header" in record and "body" in record:  # hop's circular format
        header = {str(k).lower(): v for k, v in (record.get("header") or {}).items()}
        subject = str(header.get("subject") or header.get("title") or "")
        number = header.get("number")
        body = str(record.get("body") or "")
        submitter = str(header.get("from") or "")
    elif "subject" in record and "body" in record:  # GCN JSON
        subject, body = str(record["subject"]), str(record["body"])
        number = record.get("circularId")
        submitter = str(record.get("submitter") or "")
    else:
        raise AlertError("circular lacks subject/body (neither hop circular nor GCN JSON)")
    try:
        number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        raise AlertError(f"circular number {number!r} is not an integer") from None
    if not subject.strip():
        raise AlertError("circular has an empty subject")
    return Circular(number, subject.strip(), body.replace("\\n", "\n"), submitter, superevents_in(subject, body))


def _kind(record: dict, topic: str) -> str:
    if record.get("type"):
        return str(record["type"])
    parts = [str(record[k]) for k in ("mission", "instrument") if record.get(k)]
    if parts and "mission" not in record and topic.count(".") >= 3:
        parts.insert(0, topic.split(".")[2].replace("_", " ").title())  # gcn.notices.<mission>.…
    if parts:
        return " ".join(dict.fromkeys(parts))
    schema = str(record.get("$schema", ""))
    return schema.rsplit("/notices/", 1)[-1].replace(".schema.json", "").replace("/", " ") or topic


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


_FACTS = [
    ("pipeline", "pipeline"), ("event_name", "name"), ("nu_energy", "energy (TeV)"), ("p_astro", "p_astro"),
    ("pval_generic", "p-value"), ("n_events_coincident", "coincident neutrinos"), ("rate_snr", "SNR"),
    ("rate_duration", "duration (s)"), ("image_snr", "SNR"), ("net_count_rate", "count rate"),
    ("classification", "classification"), ("follow_up_event", "follow-up of"),
    ("luminosity_distance", "distance (Mpc)"), ("data_archive_page", "more"),
]


def parse_notice(record: Any, topic: str) -> Notice:
    if not isinstance(record, dict):
        raise AlertError("notice is not a JSON object")
    if not any(k in record for k in ("trigger_time", "alert_datetime", "ref_ID", "$schema")):
        raise AlertError("notice has none of trigger_time, alert_datetime, ref_ID, $schema")
    position = record.get("most_probable_direction") or {}
    ra = _float(record.get("ra", position.get("ra")))
    dec = _float(record.get("dec", position.get("dec")))
    if ra is not None and not 0 <= ra <= 360 or dec is not None and not -90 <= dec <= 90:
        raise AlertError(f"notice position RA {ra} Dec {dec} is out of range")
    refs = [str(record["ref_ID"])] if record.get("ref_ID") else []
    refs += superevents_in(" ".join(str(v) for v in (record.get("reference") or {}).values()))
    facts = []
    for key, label in _FACTS:
        value = record.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        facts.append((label, str(value)))
    ident = record.get("id")
    ident = ",".join(map(str, ident)) if isinstance(ident, list) else str(ident or "")
    return Notice(
        kind=_kind(record, topic),
        topic=topic,
        trigger_time=record.get("trigger_time") or record.get("alert_datetime"),
        ra=ra,
        dec=dec,
        error_deg=_float(record.get("ra_dec_error")),
        far=_float(record.get("far")),
        alert_type=str(record.get("alert_type") or ""),
        test=str(record.get("alert_tense", "")).lower() == "test",
        event_ids=tuple(dict.fromkeys(refs)),
        facts=tuple(facts),
        ident=ident or str(record.get("alert_datetime", "")),
    )
