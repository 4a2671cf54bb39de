"""Candidates kept per event: one row per object (the same source from two brokers, or twice from one, is one
row), one detection row per alert. Inside the caller's transaction, with the event row locked, so two workers
cannot both add the same object."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, update

from bot.brokers.record import Candidate
from bot.skymap.crossmatch import angular_separation
from bot.store import rows_changed
from bot.store.candidates import CandidateDetection, CandidateRecord
from bot.store.events import Event

from .evidence import rescore
from .match import Judgement

__all__ = ["SAME_SOURCE_ARCSEC", "record"]

SAME_SOURCE_ARCSEC = 1.5


@dataclass(frozen=True)
class Recorded:
    new_object: bool
    new_detection: bool


def _same_source(rows: list[CandidateRecord], c: Candidate) -> CandidateRecord | None:
    key = f"{c.broker}:{c.object_id}"
    for row in rows:
        if (row.broker == c.broker and row.object_id == c.object_id) or key in (row.aliases or []):
            return row
    if not rows or c.ra_deg is None or c.dec_deg is None:
        return None
    sep = angular_separation(np.deg2rad([r.ra for r in rows]), np.deg2rad([r.dec for r in rows]),
                             np.deg2rad(c.ra_deg), np.deg2rad(c.dec_deg))
    best = int(np.argmin(sep))
    return rows[best] if np.rad2deg(sep[best]) * 3600 <= SAME_SOURCE_ARCSEC else None


def record(session, event_id: str, map_version: int, found: list[tuple[Candidate, Judgement]],
           merger_mjd: float | None = None) -> list[Recorded]:
    """Add each alert to its object's row (made when new) and score the row again; none when the event is gone.
    The alerts' evidence is kept first (:func:`bot.candidates.evidence.keep_alerts`), once for all events."""
    # writing the event row first takes its lock (PostgreSQL) or the database's write lock (SQLite, where FOR
    # UPDATE does nothing): a second worker adding the same source waits, then sees this one's row
    if not rows_changed(session.execute(update(Event).where(Event.event_id == event_id)
                                        .values(updated=Event.updated))):
        return []
    return [_one(session, event_id, map_version, c, j, merger_mjd) for c, j in found]


def _nearby(session, event_id: str, c: Candidate) -> list[CandidateRecord]:
    """The event's rows that may be this source: the same object of the same broker, or within a small box
    around its position (only those are read, however many candidates the event has)."""
    same = (CandidateRecord.broker == c.broker) & (CandidateRecord.object_id == c.object_id)
    if c.ra_deg is None or c.dec_deg is None:
        return list(session.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event_id, same)))
    d = 2 * SAME_SOURCE_ARCSEC / 3600
    dr = min(180.0, d / max(np.cos(np.deg2rad(min(abs(c.dec_deg) + d, 90.0))), 1e-6))
    lo, hi = c.ra_deg - dr, c.ra_deg + dr
    ra_box = CandidateRecord.ra.between(lo, hi) if 0 <= lo and hi < 360 else \
        (CandidateRecord.ra >= lo % 360) | (CandidateRecord.ra <= hi % 360)
    box = CandidateRecord.dec.between(c.dec_deg - d, c.dec_deg + d) & ra_box
    return list(session.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event_id, same | box)))


def _one(session, event_id: str, map_version: int, c: Candidate, j: Judgement, merger_mjd: float | None) -> Recorded:
    row = _same_source(_nearby(session, event_id, c), c)
    new_object = row is None
    if row is None:
        row = CandidateRecord(
            event_id=event_id, broker=c.broker, object_id=c.object_id, aliases=[], ra=c.ra_deg, dec=c.dec_deg,
            url=c.url, first_mjd=c.mjd, last_mjd=c.mjd, band=c.band, mag=c.mag, reliability=c.reliability,
            host_distance_mpc=c.host_distance_mpc, host_redshift=c.host_redshift, map_version=map_version,
            credible_level=j.credible_level, density_per_deg2=j.density_per_deg2, distance_cl=j.distance_cl,
            density_3d=j.density_3d, inside=True)
        session.add(row)
        session.flush()
    elif row.broker != c.broker and f"{c.broker}:{c.object_id}" not in (row.aliases or []):
        row.aliases = [*(row.aliases or []), f"{c.broker}:{c.object_id}"]
    key = f"{event_id}:{c.broker}:{c.alert_id}"[:200]
    if session.get(CandidateDetection, key) is not None:
        return Recorded(new_object, False)
    if c.mjd >= row.last_mjd:
        row.last_mjd, row.band, row.mag = c.mjd, c.band or row.band, c.mag if c.mag is not None else row.mag
    row.first_mjd = min(row.first_mjd, c.mjd)
    if row.host_distance_mpc is None and c.host_distance_mpc is not None:
        row.host_distance_mpc, row.distance_cl, row.density_3d = c.host_distance_mpc, j.distance_cl, j.density_3d
    session.add(CandidateDetection(key=key, candidate_id=row.id, mjd=c.mjd, band=c.band, mag=c.mag,
                                   posted=new_object))
    rescore(session, row, merger_mjd)
    return Recorded(new_object, True)
