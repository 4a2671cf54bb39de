"""Lasair (lsst-uk) filter streams: JSON holding the columns the user's filter selects from the ``objects`` table.

Rubin (lsst-uk/lasair-lsst: ``common/schema/8_0/objects.py``): ``diaObjectId``, ``ra``, ``decl`` (not ``dec``),
``firstDiaSourceMjdTai``, ``lastDiaSourceMjdTai``, ``nSources``, per-band ``<band>_psfFlux`` in nJy.
ZTF (lsst-uk/lasair4 @ 3300dd9f : ``common/schema/objects.py``): ``objectId``, ``ramean``, ``decmean``, ``jdmin``,
``jdmax`` (the later of ``jdgmax`` and ``jdrmax``), latest ``gmag`` / ``rmag``, ``ssnamenr`` (a known asteroid).
"""

from __future__ import annotations

import json
from typing import Any

from .record import JD_MJD, Candidate, DecodeError, finite, unix_to_mjd
from .rubin import flux_to_ab

__all__ = ["decode"]

# the object pages (lsst-uk/lasair-lsst @ 1d2d9bda and lsst-uk/lasair4 @ 3954030b :
# webserver/lasair/apps/object/urls.py, objects/<id>/)
URL = "https://lasair.lsst.ac.uk/objects/{}/"
ZTF_URL = "https://lasair-ztf.lsst.ac.uk/objects/{}/"
BANDS = "ugrizy"


def decode(value: bytes, broker: str, received: float | None = None) -> Candidate:
    """The object; its time is the last detection (or, when the filter did not select it, the broker's
    timestamp ``received``, epoch seconds)."""
    try:
        row = json.loads(value)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    if isinstance(row, dict) and row.get("diaObjectId") is not None:
        return _rubin(row, broker, received)
    if isinstance(row, dict) and row.get("objectId") is not None:
        return _ztf(row, broker, received)
    raise DecodeError("not a Lasair object row (no diaObjectId or objectId)")


def _when(row: dict[str, Any], last: float | None, received: float | None) -> float:
    mjd = last if last is not None else unix_to_mjd(received) if received is not None else None
    if mjd is None:
        raise DecodeError(f"object {row.get('diaObjectId', row.get('objectId'))} has no time of last detection")
    return mjd


def _rubin(row: dict[str, Any], broker: str, received: float | None) -> Candidate:
    mjd = _when(row, finite(row.get("lastDiaSourceMjdTai")), received)
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


def _ztf(row: dict[str, Any], broker: str, received: float | None) -> Candidate:
    last = finite(row.get("jdmax"))
    mjd = _when(row, last - JD_MJD if last is not None else None, received)
    first = finite(row.get("jdmin"))
    # the band of the last detection: the one whose latest date is jdmax
    band = next((b for b in "gr" if last is not None and finite(row.get(f"jd{b}max")) == last), None)
    asteroid = row.get("ssnamenr")
    return Candidate(
        broker=broker,
        object_id=str(row["objectId"]),
        alert_id=f"{row['objectId']}@{mjd:.6f}",
        ra_deg=finite(row.get("ramean")),
        dec_deg=finite(row.get("decmean")),
        mjd=mjd,
        band=band,
        mag=finite(row.get(f"{band}mag")) if band else None,
        first_mjd=first - JD_MJD if first is not None else None,
        solar_system=bool(asteroid) and str(asteroid).lower() not in ("null", "none"),
        url=ZTF_URL.format(row["objectId"]),
        detailed=True,
    )
