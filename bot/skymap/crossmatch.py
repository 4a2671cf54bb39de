"""Cross-match candidate positions (one or millions) against a prepared sky map.

Same definitions as ligo.skymap's ``postprocess.crossmatch`` for the 2D
quantities, with the distance quantities in closed form instead of on a
pixels x 1000 distance grid: the grid is what makes the reference slow and
memory-hungry. The 3D density keeps the reference's definition all the same
(the density of the grid voxel that holds the distance, 0 where the map's
distance parameters give none), so the two give the same number; it is
evaluated only at the candidates, never on the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.special import erfinv

from . import distance
from .prepared import SR_TO_DEG2, PreparedMap


@dataclass(frozen=True, eq=False)
class Crossmatch:
    """Per-position results; every field is an array of the input's length.

    Distance fields are NaN where the map has no distance; the candidate
    distance fields are NaN where no candidate distance was given.
    """

    credible_level: np.ndarray  # ligo.skymap searched_prob
    searched_area_deg2: np.ndarray
    probdensity_per_sr: np.ndarray
    offset_deg: np.ndarray
    distance_mean_mpc: np.ndarray  # posterior mean along this line of sight
    distance_std_mpc: np.ndarray
    distance_credible_level: np.ndarray  # two-sided, of the candidate distance
    probdensity_vol_per_mpc3: np.ndarray

    @property
    def probdensity_per_deg2(self) -> np.ndarray:
        return self.probdensity_per_sr / SR_TO_DEG2


def angular_separation(ra1: np.ndarray, dec1: np.ndarray, ra2: float, dec2: float) -> np.ndarray:
    """Great-circle separation in radians (Vincenty: accurate at all angles)."""
    dra = ra1 - ra2
    sdra, cdra = np.sin(dra), np.cos(dra)
    s1, c1, s2, c2 = np.sin(dec1), np.cos(dec1), np.sin(dec2), np.cos(dec2)
    num = np.hypot(c2 * sdra, c1 * s2 - s1 * c2 * cdra)
    return np.arctan2(num, s1 * s2 + c1 * c2 * cdra)


def crossmatch(
    prepared: PreparedMap,
    ra_deg: np.ndarray | float,
    dec_deg: np.ndarray | float,
    distance_mpc: np.ndarray | float | None = None,
) -> Crossmatch:
    """Where each position stands in the map's 2D (and 3D) posterior."""
    ra = np.deg2rad(np.atleast_1d(np.asarray(ra_deg, dtype=np.float64)) % 360.0)
    dec = np.deg2rad(np.atleast_1d(np.asarray(dec_deg, dtype=np.float64)))
    rank = prepared.rank_of(ra, dec)
    found = rank >= 0
    r = np.maximum(rank, 0)

    def pick(values: np.ndarray) -> np.ndarray:
        return np.where(found, values[r], np.nan)

    credible_level = pick(prepared.cum_prob)
    searched_area = pick(prepared.cum_area_deg2)
    density = pick(prepared.probdensity)
    offset = np.rad2deg(angular_separation(ra, dec, prepared.mode_ra, prepared.mode_dec))
    nan = np.full(ra.shape, np.nan)
    mean = std = dist_cl = density_vol = nan
    if prepared.distmu is not None and prepared.distsigma is not None and prepared.distnorm is not None:
        mu, sigma = pick(prepared.distmu), pick(prepared.distsigma)
        mean, std, _ = distance.moments(mu, sigma)
        if distance_mpc is not None:
            d = np.broadcast_to(np.asarray(distance_mpc, dtype=np.float64), ra.shape)
            dist_cl = np.abs(2.0 * distance.conditional_cdf(d, mu, sigma) - 1.0)
            on_grid = _reference_grid_distance(d, prepared.distance_mean_mpc)
            value = density * distance.conditional_pdf_volume(on_grid, mu, sigma, pick(prepared.distnorm))
            density_vol = np.where(found & np.isfinite(d), np.nan_to_num(value, nan=0.0, posinf=0.0), np.nan)
    return Crossmatch(credible_level, searched_area, density, offset, mean, std, dist_cl, density_vol)


REFERENCE_GRID_STEPS = 1000  # ligo.skymap crossmatch: n_r


def _reference_grid_distance(d: np.ndarray, mean_mpc: float | None) -> np.ndarray:
    """Where ligo.skymap evaluates the 3D density of a distance: the point of its grid r_k = k * max_r / 1000
    (k = 1 .. 999; max_r = 6 x the map's mean distance, or the largest distance asked when that is more) found by
    ``np.digitize(d, r) - 1``, as in ``postprocess/crossmatch.py`` (below the distance; under the first step, the
    last point)."""
    finite = d[np.isfinite(d)]
    max_r = max(6.0 * (mean_mpc or 0.0), float(finite.max()) if finite.size else 0.0)
    if not max_r > 0:
        return d
    grid = (max_r / REFERENCE_GRID_STEPS) * np.arange(1, REFERENCE_GRID_STEPS)
    return grid[np.digitize(np.where(np.isfinite(d), d, 0.0), grid) - 1]


def _days_since(event_time: datetime, when: datetime) -> float:
    return (when - event_time).total_seconds() / 86400.0


def sigma_equivalent(two_sided_level: float) -> float:
    """Gaussian sigmas with the same two-sided credible level."""
    return float(np.sqrt(2.0) * erfinv(min(two_sided_level, 1 - 1e-16)))


def verdict(
    credible_level: float,
    distance_credible_level: float | None = None,
    candidate_time: datetime | None = None,
    event_time: datetime | None = None,
) -> tuple[str, list[str]]:
    """A plausibility label (plausible / unlikely / excluded) and its reasons, for one candidate."""
    reasons: list[str] = []
    label = "plausible"

    def worse(new: str) -> None:
        nonlocal label
        order = ["plausible", "unlikely", "excluded"]
        label = max(label, new, key=order.index)

    if not np.isfinite(credible_level):
        reasons.append("position not covered by the sky map")
        worse("excluded")
    elif credible_level <= 0.5:
        reasons.append(f"inside 50% region (CL {credible_level:.2f})")
    elif credible_level <= 0.9:
        reasons.append(f"inside 90% region (CL {credible_level:.2f})")
    elif credible_level <= 0.99:
        reasons.append(f"outside 90% region (CL {credible_level:.3f})")
        worse("unlikely")
    else:
        reasons.append(f"far outside the localization (CL {credible_level:.4f})")
        worse("excluded" if credible_level > 0.999 else "unlikely")

    if distance_credible_level is not None and np.isfinite(distance_credible_level):
        n_sigma = sigma_equivalent(distance_credible_level)
        if distance_credible_level <= 0.9:
            reasons.append(f"distance consistent ({n_sigma:.1f}σ)")
        elif distance_credible_level <= 0.997:
            reasons.append(f"distance in tension ({n_sigma:.1f}σ)")
            worse("unlikely")
        else:
            reasons.append(f"distance inconsistent ({n_sigma:.1f}σ)")
            worse("excluded")

    if candidate_time is not None and event_time is not None:
        days = _days_since(event_time, candidate_time)
        if days < 0:
            reasons.append(f"seen {_format_days(-days)} BEFORE the merger")
            worse("excluded")
        else:
            reasons.append(f"{_format_days(days)} after merger")
            if days > 30:
                worse("unlikely")
    return label, reasons


def _format_days(days: float) -> str:
    if days < 1 / 24:
        return f"{days * 1440:.0f} min"
    if days < 1:
        return f"{days * 24:.1f} h"
    return f"{days:.1f} d"


def verdict_text(label: str, reasons: list[str]) -> str:
    """One line: 'PLAUSIBLE: inside 90% region (CL 0.42), distance consistent (1.1σ), 2.3 d after merger'."""
    return f"{label.upper()}: " + ", ".join(reasons)
