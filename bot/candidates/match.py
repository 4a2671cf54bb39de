"""Which broker alerts fall in which active event's region: science over plain arrays, one vectorized
cross-match per event and batch. The cuts are those of ANTARES's GW counterpart filter (within the window after
the merger, not a solar-system object, real enough, inside the credible region); the later ones that need the
whole alert (no detection before the merger, not a known variable, the distance) are in :func:`judge`, which
uses :func:`bot.skymap.crossmatch.verdict`, the same code as ``/gw check``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from bot.brokers.record import Candidate, mjd_to_unix
from bot.skymap.crossmatch import crossmatch, verdict
from bot.skymap.prepared import PreparedMap

__all__ = ["Cuts", "Hit", "Judgement", "Target", "judge", "match"]

DISTANCE_OUTLIER_CL = 0.997  # two-sided (3 sigma): "far outside the distance posterior", marked, not hidden


@dataclass(frozen=True)
class Cuts:
    max_cl: float = 0.9
    min_reliability: float = 0.6
    window_days: float = 7.0


@dataclass(frozen=True)
class Target:
    """An active event: its latest map and merger time."""

    event_id: str
    map_version: int
    prepared: PreparedMap
    merger_mjd: float


@dataclass(frozen=True)
class Hit:
    index: int  # into the batch
    event_id: str
    credible_level: float


def match(targets: list[Target], candidates: list[Candidate], cuts: Cuts) -> list[Hit]:
    """Every (alert, event) pair passing the cuts that need only the alert's first fields."""
    n = len(candidates)
    if not n or not targets:
        return []
    ra = np.array([c.ra_deg if c.ra_deg is not None else np.nan for c in candidates], dtype=np.float64)
    dec = np.array([c.dec_deg if c.dec_deg is not None else np.nan for c in candidates], dtype=np.float64)
    mjd = np.array([c.mjd for c in candidates], dtype=np.float64)
    rel = np.array([c.reliability if c.reliability is not None else np.nan for c in candidates], dtype=np.float64)
    usable = (np.isfinite(ra) & np.isfinite(dec) & ~np.array([c.solar_system for c in candidates])
              & ~(rel < cuts.min_reliability))
    hits: list[Hit] = []
    named = [c.event_ids for c in candidates]  # objects a broker matched to named events only (BOOM)
    for target in targets:
        when = usable & (mjd > target.merger_mjd) & (mjd - target.merger_mjd <= cuts.window_days)
        if any(named):
            when &= np.array([not events or target.event_id in events for events in named])
        index = np.flatnonzero(when)
        if not len(index):
            continue
        cl = crossmatch(target.prepared, ra[index], dec[index]).credible_level
        inside = np.isfinite(cl) & (cl <= cuts.max_cl)
        hits.extend(Hit(int(i), target.event_id, float(c)) for i, c in zip(index[inside], cl[inside], strict=True))
    return hits


@dataclass(frozen=True)
class Judgement:
    """The evidence for one candidate against one event's map; ``rejected`` says why it is not posted."""

    credible_level: float
    density_per_deg2: float
    distance_cl: float | None
    density_3d: float | None
    plausibility: str
    reasons: tuple[str, ...]
    rejected: str | None = None


def judge(candidates: list[Candidate], target: Target, cuts: Cuts) -> list[Judgement]:
    """The whole alerts' evidence, one vectorized cross-match per event: history before the merger and known
    variables reject; a host distance is scored against the map's distance posterior."""
    nan = np.nan
    ra = np.array([c.ra_deg if c.ra_deg is not None else nan for c in candidates], dtype=np.float64)
    dec = np.array([c.dec_deg if c.dec_deg is not None else nan for c in candidates], dtype=np.float64)
    dist = np.array([c.host_distance_mpc if c.host_distance_mpc is not None else nan for c in candidates])
    r = crossmatch(target.prepared, ra, dec, dist if np.isfinite(dist).any() else None)
    merger = datetime.fromtimestamp(mjd_to_unix(target.merger_mjd), UTC)
    out = []
    for i, c in enumerate(candidates):
        cl, dcl, d3 = (float(r.credible_level[i]), float(r.distance_credible_level[i]),
                       float(r.probdensity_vol_per_mpc3[i]))
        label, reasons = verdict(cl, dcl if np.isfinite(dcl) else None,
                                 datetime.fromtimestamp(mjd_to_unix(c.mjd), UTC), merger)
        rejected = None
        if not np.isfinite(cl) or cl > cuts.max_cl:
            rejected = f"outside the {cuts.max_cl:.0%} region (CL {cl:.3f})"
        elif c.first_mjd is not None and c.first_mjd < target.merger_mjd:
            rejected = f"detected {target.merger_mjd - c.first_mjd:.1f} d before the merger"
        elif c.known_variable:
            rejected = "a catalogued star, variable or AGN"
        elif c.solar_system:
            rejected = "a solar-system object"
        out.append(Judgement(cl, float(r.probdensity_per_deg2[i]), dcl if np.isfinite(dcl) else None,
                             d3 if np.isfinite(d3) else None, label, tuple(reasons), rejected))
    return out
