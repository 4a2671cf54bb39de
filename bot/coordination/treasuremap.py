"""Treasure Map (treasuremap.space), the community's record of which fields each telescope planned and
observed for each GW event: a small typed client of its HTTP API.

Rules followed, from TheTreasureMap/gwtm @ c7a124ff (paths under ``server/``):
- the token goes in the ``api_token`` header (``auth/auth.py``); reading pointings and footprints needs none;
- ``POST pointings`` answers ``{pointing_ids, ERRORS, WARNINGS}``: ids only for the pointings it stored, in
  order; a repeat comes back in ``ERRORS`` as "Pointing already submitted" (``routes/pointing/create_pointings.py``);
- a repeat is recognised by equal naive UTC time, band, position angle and position (``utils/geometry.py``),
  so times are sent naive (a ``Z`` would never match, and a retry would store a second pointing);
- completing by ``id`` changes only time, position angle and status (``utils/pointing.py``): band and depth
  go with the planned pointing;
- ``POST update_pointings {status: cancelled, ids}`` cancels the caller's planned pointings only;
- positions come back as ``POINT(ra dec)`` with RA in -180..180 (``utils/geometry.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np

from bot.coordination.bands import Band
from bot.web import HttpTrouble, JsonService

__all__ = ["Pointing", "Posted", "Status", "TreasureMap", "naive_utc"]

DEFAULT_URL = "https://treasuremap.space/api/v1/"
ALREADY = ("Pointing already submitted", "has already been completed")
_POINT = re.compile(r"POINT\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)")
_POLYGON = re.compile(r"POLYGON\s*\(\((.*?)\)\)")


class Status(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def naive_utc(t: datetime) -> str:
    """ISO time in UTC without an offset, to the second: how Treasure Map compares pointing times."""
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t.replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Pointing:
    ra: float
    dec: float
    instrument_id: int
    time: datetime  # UTC
    status: Status
    band: Band
    depth: float | None = None
    depth_unit: str = "ab_mag"
    pos_angle: float | None = None
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ra": self.ra, "dec": self.dec, "instrumentid": self.instrument_id,
                               "time": naive_utc(self.time), "status": self.status.value, "band": self.band.name}
        if self.band.central_wave is not None:
            out |= {"central_wave": self.band.central_wave, "bandwidth": self.band.bandwidth}
        if self.depth is not None:
            out |= {"depth": self.depth, "depth_unit": self.depth_unit}
        if self.pos_angle is not None:
            out["pos_angle"] = self.pos_angle
        if self.id is not None:
            out["id"] = self.id  # completes the planned pointing with this id
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Pointing:
        """A pointing as GET pointings returns it; ValueError when it has no usable position or time."""
        match = _POINT.search(str(doc.get("position") or ""))
        if match is None:
            raise ValueError(f"pointing {doc.get('id')} has no position")
        time = datetime.fromisoformat(str(doc["time"]).replace("Z", "+00:00"))
        return cls(ra=float(match.group(1)) % 360.0, dec=float(match.group(2)), instrument_id=int(doc["instrumentid"]),
                   time=time if time.tzinfo else time.replace(tzinfo=UTC), status=Status(str(doc["status"])),
                   band=Band(str(doc.get("band") or "other"), doc.get("central_wave"), doc.get("bandwidth")),
                   depth=doc.get("depth"), depth_unit=str(doc.get("depth_unit") or "ab_mag"),
                   pos_angle=doc.get("pos_angle"), id=int(doc["id"]) if doc.get("id") is not None else None)


@dataclass(frozen=True)
class Posted:
    """What Treasure Map made of a POST: the ids it gave, the pointings it already had, and the refused ones."""

    ids: list[int]
    already: int  # "already submitted" / "already completed": counts as done
    refused: list[str]


class TreasureMapError(Exception):
    def __init__(self, message: str, retry: bool, maybe_sent: bool = False, unknown_event: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.maybe_sent = maybe_sent
        self.unknown_event = unknown_event


class TreasureMap:
    def __init__(self, base_url: str = DEFAULT_URL, token: str | None = None, timeout: float = 30.0) -> None:
        self.service = JsonService("Treasure Map", base_url, {"api_token": token} if token else {}, timeout)

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        try:
            return self.service.call(method, path, body, query)
        except HttpTrouble as exc:
            text = str(exc)
            raise TreasureMapError(text, retry=exc.retry, maybe_sent=exc.maybe_sent,
                                   unknown_event="Invalid graceid" in text) from None

    def post(self, graceid: str, pointings: list[Pointing]) -> Posted:
        answer = self._call("POST", "pointings", {"graceid": graceid, "pointings": [p.to_json() for p in pointings]})
        errors = [" ".join(map(str, e)) if isinstance(e, list) else str(e) for e in answer.get("ERRORS") or []]
        already = sum(any(a in e for a in ALREADY) for e in errors)
        return Posted([int(i) for i in answer.get("pointing_ids") or []], already,
                      [e for e in errors if not any(a in e for a in ALREADY)])

    def cancel(self, ids: list[int]) -> None:
        self._call("POST", "update_pointings", {"status": Status.CANCELLED.value, "ids": ids})

    def pointings(self, graceid: str, statuses: tuple[Status, ...] = (), instrument: int | None = None
                  ) -> list[Pointing]:
        """Everyone's pointings for the event (no token needed); unreadable ones are left out."""
        query = {"graceid": graceid, "statuses": ",".join(s.value for s in statuses) or None,
                 "instrument": instrument}
        out = []
        for doc in self._call("GET", "pointings", query=query) or []:
            try:
                out.append(Pointing.from_json(doc))
            except (KeyError, ValueError, TypeError):
                continue
        return out

    def footprint(self, instrument_id: int) -> list[np.ndarray]:
        """The instrument's CCDs: polygons of (lon, lat) degrees about the pointing centre, at position angle 0."""
        polygons = []
        for doc in self._call("GET", "footprints", query={"id": instrument_id}) or []:
            for ring in _POLYGON.findall(str(doc.get("footprint") or "")):
                vertices = np.array([[float(x) for x in pair.split()] for pair in ring.split(",")])
                if len(vertices) >= 3 and vertices.shape[1] == 2:
                    polygons.append(vertices)
        return polygons

    def instruments(self) -> dict[int, str]:
        return {int(d["id"]): str(d.get("instrument_name") or d["id"]) for d in self._call("GET", "instruments") or []}
