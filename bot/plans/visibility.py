"""What a facility can observe of a map in the next hours: the probability observable at some time from some
site (Sun below its limit, airmass within its limit and the Moon far enough, all through a step), hour by hour
per site, and when its first field can start. The verdict weighs it; the visibility picture draws it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from bot.plans.facilities import Facility, Instrument
from bot.plans.planner import STEP_MINUTES, cells_for, visible
from bot.skymap.prepared import PreparedMap

__all__ = ["Observability", "observability"]


@dataclass(frozen=True)
class Observability:
    facility: str
    start: datetime
    step_s: float
    probability: float  # observable at some step from some site (each field counted once)
    per_site: dict[str, np.ndarray]  # probability observable in each step, per site
    dark: dict[str, np.ndarray]  # per site and step: the Sun below the facility's limit all through it
    first: tuple[datetime, str] | None  # when the first field can start, and where

    @property
    def times(self) -> list[datetime]:
        """The start of each step."""
        n = len(next(iter(self.per_site.values()))) if self.per_site else 0
        return [self.start + timedelta(seconds=i * self.step_s) for i in range(n)]


def observability(prepared: PreparedMap, facility: Facility, instrument: Instrument, start: datetime,
                  hours: float = 24.0) -> Observability:
    """The facility's view of the map over ``hours`` from ``start``, on the fields its plans would use."""
    cells, _ = cells_for(prepared, facility, instrument)
    keep = cells.prob > 0
    ra, dec, prob = cells.ra[keep], cells.dec[keep], cells.raw[keep]
    step = timedelta(minutes=STEP_MINUTES)
    n_steps = max(1, int(np.ceil(hours * 60 / STEP_MINUTES)))
    times = [start + i * step for i in range(n_steps + 1)]
    sites = facility.sites_for(instrument)
    dark, _, _, ok = visible(ra, dec, facility, sites, times)
    anywhere = np.zeros(len(ra), dtype=bool)
    per_site, first = {}, None
    for site in sites:
        mask = ok[site.code]
        anywhere |= mask.any(axis=1)
        per_site[site.code] = prob @ mask if len(prob) else np.zeros(n_steps)
        steps = np.flatnonzero(mask.any(axis=0))
        if len(steps) and (first is None or times[steps[0]] < first[0]):
            first = (times[steps[0]], site.code)
    return Observability(facility.name, start, STEP_MINUTES * 60.0, float(prob[anywhere].sum()), per_site,
                         {c: d[:-1] & d[1:] for c, d in dark.items()}, first)
