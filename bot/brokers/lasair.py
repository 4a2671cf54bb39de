"""Lasair (lsst-uk) filter streams: JSON holding the columns the user's filter selects from the ``objects`` table:
``diaObjectId``, ``ra``, ``decl`` (not ``dec``), ``firstDiaSourceMjdTai``, ``lastDiaSourceMjdTai``, ``nSources``,
per-band ``<band>_psfFlux`` in nJy (lsst-uk/lasair-lsst: ``common/schema/8_0/objects.py``)."""

from __future__ import annotations

import json

from .record import Candidate, DecodeError, finite, unix_to_mjd
from .rubin import flux_to_ab

__all__ = ["decode"]

URL = "https://lasair.lsst.ac.uk/objects/{}/"
BANDS = "ugrizy"



def decode(value: bytes, broker: str, received: float | None = None) -> Candidate:
    """The object; its time is the last detection (or, when the filter did not select it, the broker's
    timestamp ``received``, epoch seconds)."""
    try:
        row = json.loads(value)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    if not isinstance(row, dict) or row.get("diaObjectId") is None:
        raise DecodeError("not a Lasair object row (no diaObjectId)")
    mjd = finite(row.get("lastDiaSourceMjdTai"))
    if mjd is None and received is not None:
        mjd = unix_to_mjd(received)
    if mjd is None:
        raise DecodeError(f"object {row['diaObjectId']} has no lastDiaSourceMjdTai")
    fluxes = {b: finite(row.get(f"{b}_psfFlux")) for b in BANDS}
    fluxes = {b: f for b, f in fluxes.items() if f is not None}
    band = next(iter(fluxes)) if len(fluxes) == 1 else None  # which band the last detection was in is unknown
    return Candidate(
        broker=broker,
        object_id=str(row["diaObjectId"]),
        alert_id=f"{row['diaObjectId']}@{mjd:.6f}",
        ra_deg=finite(row.get("ra")),
        dec_deg=finite(row.get("decl", row.get("dec"))),
        mjd=mjd,
        band=band,
        mag=flux_to_ab(fluxes[band]) if band else None,
        flux_njy=fluxes[band] if band else None,
        first_mjd=finite(row.get("firstDiaSourceMjdTai")),
        url=URL.format(row["diaObjectId"]),
        detailed=True,
    )
