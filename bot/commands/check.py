"""Is a transient at RA, Dec (and distance, time) plausible as the counterpart? The same computation for
``/gw check``, its CSV files, the form, and ``gwbot check``: plain results, formatted elsewhere
(:mod:`bot.slack.blocks` for Slack, :mod:`bot.commands.text` for the terminal and CSV)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from bot.commands.parse import Transient
from bot.skymap.crossmatch import crossmatch, verdict
from bot.skymap.prepared import PreparedMap

__all__ = ["CandidateCheck", "CheckResult", "check"]


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass(frozen=True)
class CandidateCheck:
    label: str
    ra_deg: float
    dec_deg: float
    distance_mpc: float | None
    credible_level: float | None  # None: the position is not covered by the map
    searched_area_deg2: float | None
    probdensity_per_deg2: float | None
    offset_deg: float | None
    distance_mean_mpc: float | None  # the posterior along this line of sight
    distance_std_mpc: float | None
    distance_credible_level: float | None  # two-sided, at the candidate's distance
    probdensity_vol_per_mpc3: float | None
    plausibility: str  # plausible / unlikely / excluded
    reasons: list[str]
    days_since_merger: float | None = None
    combined_credible_level: float | None = None  # in the GW x external map, when there is one


@dataclass(frozen=True)
class CheckResult:
    event_id: str | None
    candidates: list[CandidateCheck]  # in the order given
    map_has_distance: bool
    combined_observatory: str | None = None
    notes: list[str] = field(default_factory=list)

    def best_first(self) -> list[CandidateCheck]:
        return sorted(self.candidates, key=lambda c: np.inf if c.credible_level is None else c.credible_level)


def check(prepared: PreparedMap, candidates: list[Transient], merger: datetime | None = None,
          event_id: str | None = None, combined: PreparedMap | None = None,
          combined_observatory: str | None = None) -> CheckResult:
    """Cross-match every candidate against the GW map (verdicts) and, when given, the combined map."""
    ra = np.array([c.ra for c in candidates])
    dec = np.array([c.dec for c in candidates])
    dist = np.array([c.distance if c.distance is not None else np.nan for c in candidates])
    r = crossmatch(prepared, ra, dec, dist if np.any(np.isfinite(dist)) else None)
    combined_cl = crossmatch(combined, ra, dec).credible_level if combined is not None else None
    out = []
    for i, c in enumerate(candidates):
        dcl = _number(r.distance_credible_level[i])
        label, reasons = verdict(r.credible_level[i], dcl, c.time, merger)
        days = (c.time - merger).total_seconds() / 86400 if c.time is not None and merger is not None else None
        out.append(CandidateCheck(
            c.label, c.ra, c.dec, c.distance, _number(r.credible_level[i]), _number(r.searched_area_deg2[i]),
            _number(r.probdensity_per_deg2[i]), _number(r.offset_deg[i]), _number(r.distance_mean_mpc[i]),
            _number(r.distance_std_mpc[i]), dcl, _number(r.probdensity_vol_per_mpc3[i]), label, reasons, days,
            _number(combined_cl[i]) if combined_cl is not None else None))
    notes = []
    if not prepared.skymap.has_distance and np.any(np.isfinite(dist)):
        notes.append("This sky map has no distance information: candidate distances were not checked.")
    if combined is not None:
        notes.append("Verdicts use the GW sky map; the combined map assumes the external coincidence is real.")
    return CheckResult(event_id, out, prepared.skymap.has_distance,
                       combined_observatory if combined is not None else None, notes)
