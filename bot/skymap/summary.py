"""What a sky map says, in the numbers an astronomer quotes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .prepared import PreparedMap


@dataclass(frozen=True)
class Summary:
    """Headline numbers of a sky map. Distances are None for maps without distance."""

    objid: str | None
    event_time: str | None
    instruments: list[str]
    npix: int
    area_50_deg2: float
    area_90_deg2: float
    ra_deg: float
    dec_deg: float
    distance_mean_mpc: float | None
    distance_std_mpc: float | None
    distance_modulus: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def distance_modulus(distance_mpc: float) -> float:
    """m - M for a luminosity distance in Mpc."""
    return 5.0 * np.log10(distance_mpc) + 25.0


def summarize(prepared: PreparedMap) -> Summary:
    """Credible areas, most probable position and distance of a prepared map."""
    meta = prepared.skymap.meta
    area_50, area_90 = prepared.credible_area([0.5, 0.9])
    mean: float | None = meta.get("distmean") if prepared.skymap.has_distance else None
    std: float | None = meta.get("diststd") if prepared.skymap.has_distance else None
    if mean is None or not (np.isfinite(mean) and mean > 0):
        mean = std = None
    return Summary(
        objid=meta.get("objid"),
        event_time=meta.get("date_obs"),
        instruments=list(meta.get("instruments", [])),
        npix=len(prepared.skymap),
        area_50_deg2=float(area_50),
        area_90_deg2=float(area_90),
        ra_deg=float(np.rad2deg(prepared.mode_ra)),
        dec_deg=float(np.rad2deg(prepared.mode_dec)),
        distance_mean_mpc=None if mean is None else float(mean),
        distance_std_mpc=None if std is None else float(std),
        distance_modulus=None if mean is None else float(distance_modulus(mean)),
    )
