"""GCN's BOOM notices (``gcn.notices.boom.alert``, JSON): survey objects BOOM already matched to GW events, with
their photometry and BOOM's classifier scores.

Schema: nasa-gcn/gcn-schema @ 2ca8bdf5 : ``gcn/notices/boom/alert.schema.json``. ``data.targets[]`` holds
``event_name`` (the survey object id), ``ra``/``dec`` (ICRS degrees), ``classification_scores`` ({name: score})
and ``gcn_crossmatch[]`` (``ref_type`` "GW", ``ref_ID`` the superevent); ``data.photometry[]``, joined by
``event_name``, holds ``observation_start`` (ISO 8601), ``filter``, ``mag``/``mag_error`` (absent for a
non-detection) and ``limiting_mag`` (5 sigma, AB). What the producer fills in (ZTF objects; scores ``rb``,
``drb``, ``sgscore1``, ``acai_*``, ``btsbot``): boom-astro/boom-gcn-pipeline @ 76a642be : ``utils/gcn.py``.
One notice may carry several targets: each is a candidate, for the events it names only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .record import Candidate, DecodeError, Point, finite, unix_to_mjd

__all__ = ["decode"]

#: survey filter names in BOOM photometry (``ztfg``, ``sdssr``, ``atlaso``, ...) -> band letters
PREFIXES = ("ztf", "sdss", "ps1", "lsst", "atlas", "decam", "desi")
#: ZTF object pages, as Fink's and ALeRCE's docs link a ZTF name
ZTF_URL = "https://fink-portal.org/{}"


def _band(name: Any) -> str | None:
    text = str(name or "").strip().lower()
    for prefix in PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):]
    return text or None


def _mjd(text: Any) -> float | None:
    try:
        return unix_to_mjd(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _points(rows: list[Mapping[str, Any]], origin: str) -> tuple[Point, ...]:
    points = []
    for row in rows:
        mjd, band = _mjd(row.get("observation_start")), _band(row.get("filter"))
        mag, limit = finite(row.get("mag")), finite(row.get("limiting_mag"))
        if mjd is None or band is None:
            continue
        instrument = str(row.get("instrument") or row.get("telescope") or "")
        if mag is not None:
            points.append(Point(mjd, band, mag, finite(row.get("mag_error")), False, origin, instrument))
        elif limit is not None:
            points.append(Point(mjd, band, limit, None, True, origin, instrument))
    return tuple(sorted(points, key=lambda p: p.mjd))


def decode(value: bytes, broker: str) -> list[Candidate]:
    """Every target of a notice, with its photometry, scores and the GW events BOOM matched it to; a target that
    names no GW event, or has no position, is left out (BOOM matches only GW events today)."""
    try:
        notice = json.loads(value)
        targets = notice["data"]["targets"]
        photometry = notice["data"].get("photometry") or []
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise DecodeError(f"not a BOOM notice (JSON with data.targets): {exc}") from None
    if not isinstance(targets, list) or not isinstance(photometry, list):
        raise DecodeError("a BOOM notice's data.targets and data.photometry are lists")
    sent = _mjd(notice.get("alert_datetime"))
    out = []
    for target in targets:
        if not isinstance(target, Mapping) or not target.get("event_name"):
            continue
        name = str(target["event_name"])
        events = tuple(str(m.get("ref_ID")) for m in target.get("gcn_crossmatch") or ()
                       if isinstance(m, Mapping) and m.get("ref_type") == "GW" and m.get("ref_ID"))
        if not events:
            continue
        points = _points([p for p in photometry if isinstance(p, Mapping) and p.get("event_name") == name], broker)
        detections = [p for p in points if not p.limit]
        last = detections[-1] if detections else None
        scores = tuple((str(k), float(v)) for k, v in (target.get("classification_scores") or {}).items()
                       if finite(v) is not None)
        mjd = last.mjd if last else sent
        if mjd is None:
            raise DecodeError(f"BOOM target {name} has neither a detection nor the notice's time")
        score_map = dict(scores)
        out.append(Candidate(
            broker=broker, object_id=name, alert_id=f"{name}:{notice.get('record_number', '')}:{mjd:.6f}",
            ra_deg=finite(target.get("ra")), dec_deg=finite(target.get("dec")), mjd=mjd,
            band=last.band if last else None, mag=last.mag if last else None,
            reliability=score_map.get("drb", score_map.get("rb")),
            first_mjd=detections[0].mjd if detections else None,
            url=ZTF_URL.format(name) if name.startswith("ZTF") else None, detailed=True, photometry=points,
            scores=scores, event_ids=events))
    return out
