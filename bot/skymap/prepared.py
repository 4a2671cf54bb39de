"""A sky map ranked once for fast credible-region questions.

Pixels are ranked by descending probability density (ties broken by
descending UNIQ, the order ligo.skymap's crossmatch uses), with cumulative
probability and area, plus a sorted index of pixel ranges at the deepest
order so that any position finds its pixel with one binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import distance, moc
from .io import SkyMap

SR_TO_DEG2 = float(np.square(180 / np.pi))
FULL_SKY_DEG2 = 4 * np.pi * SR_TO_DEG2


@dataclass(frozen=True, eq=False)
class PreparedMap:
    """Arrays in rank order (most probable pixel first)."""

    skymap: SkyMap
    uniq: np.ndarray
    probdensity: np.ndarray  # per sr
    cum_prob: np.ndarray
    cum_area_deg2: np.ndarray
    distmu: np.ndarray | None
    distsigma: np.ndarray | None
    distnorm: np.ndarray | None
    max_order: int
    range_start: np.ndarray  # sorted starts of pixel ranges at max_order
    range_end: np.ndarray
    range_rank: np.ndarray  # rank of the pixel owning each range
    mode_ra: float  # radians, centre of the most probable pixel
    mode_dec: float
    distance_mean_mpc: float | None = None  # the all-sky mean distance (None without distance)

    def credible_area(self, levels: np.ndarray | list[float]) -> np.ndarray:
        """Area (deg²) of the smallest regions holding these probabilities."""
        return np.interp(levels, np.pad(self.cum_prob, (1, 0)), np.pad(self.cum_area_deg2, (1, 0)),
                         right=FULL_SKY_DEG2)

    def rank_of(self, ra_rad: np.ndarray, dec_rad: np.ndarray) -> np.ndarray:
        """Rank of the pixel containing each position; -1 where the map has no pixel."""
        ipix = moc.lonlat_to_nested(ra_rad, dec_rad, self.max_order)
        j = np.searchsorted(self.range_start, ipix, side="right") - 1
        inside = (j >= 0) & (ipix < self.range_end[np.maximum(j, 0)])
        return np.where(inside, self.range_rank[np.maximum(j, 0)], -1)


def prepare(skymap: SkyMap) -> PreparedMap:
    """Rank a sky map; done once per map version, then reused by every query."""
    rank = np.lexsort((-skymap.uniq, -skymap.probdensity))
    uniq = skymap.uniq[rank]
    order, ipix = moc.uniq_to_order_ipix(uniq)
    area = moc.pixel_area_sr(order)
    density = skymap.probdensity[rank]
    max_order = int(order.max())
    start, end = moc.nested_ranges(order, ipix, max_order)
    by_start = np.argsort(start)

    def ranked(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[rank]

    mode_ra, mode_dec = moc.nested_to_lonlat(order[:1], ipix[:1])
    return PreparedMap(
        skymap=skymap,
        uniq=uniq,
        probdensity=density,
        cum_prob=np.cumsum(density * area),
        cum_area_deg2=np.cumsum(area) * SR_TO_DEG2,
        distmu=ranked(skymap.distmu),
        distsigma=ranked(skymap.distsigma),
        distnorm=ranked(skymap.distnorm),
        max_order=max_order,
        range_start=start[by_start],
        range_end=end[by_start],
        range_rank=by_start,
        mode_ra=float(mode_ra[0]),
        mode_dec=float(mode_dec[0]),
        distance_mean_mpc=None if skymap.distmu is None or skymap.distsigma is None else
        distance.marginal_moments(skymap.probdensity * moc.pixel_area_sr(moc.uniq_to_order_ipix(skymap.uniq)[0]),
                                  skymap.distmu, skymap.distsigma)[0],
    )
