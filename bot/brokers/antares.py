"""ANTARES (NOIRLab) streams: each message is ``zlib.compress(BSON(locus))``, neither Avro nor JSON. The locus is
``{id, ra, dec, properties, tags, catalogs}``, or in the older shape ``{data: {id, attributes: {ra, dec,
properties, tags, catalogs}}}`` (antares-client 2.0.2: ``antares_client/stream.py`` ``_parse_message`` and
``antares_client/_stream/schema/locus.py``). Properties are flat: ``ztf_*`` for ZTF loci, ``lsst_diaSource_*`` and
``lsst_diaObject_*`` for Rubin ones, and the locus's own ``newest_alert_*`` / ``oldest_alert_*`` (MJD)."""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import Any

from . import bson
from .record import JD_MJD, Candidate, DecodeError, finite

__all__ = ["decode"]

URL = "https://antares.noirlab.edu/loci/{}"
ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
#: Catalogues whose match marks a known star, variable or AGN (the ANTARES GW filter's cut).
VARIABLE_CATALOGS = ("variab", "vsx", "gcvs", "agn", "qso", "milliquas", "veron", "asassn", "bright_guide_star")



def _locus(value: bytes) -> Mapping[str, Any]:
    try:
        doc = bson.loads(zlib.decompress(value))
    except zlib.error as exc:
        raise DecodeError(f"not zlib-compressed: {exc}") from None
    if "data" in doc and isinstance(doc["data"], Mapping):  # the older shape
        data = doc["data"]
        attributes = data.get("attributes") or {}
        return {"id": data.get("id"), **attributes}
    return doc


def decode(value: bytes, broker: str) -> Candidate:
    """The whole locus (zlib and BSON have no cheaper partial read)."""
    locus = _locus(value)
    props: Mapping[str, Any] = locus.get("properties") or {}
    if locus.get("id") is None:
        raise DecodeError("locus without an id")
    mjd = finite(props.get("newest_alert_observation_time"))
    if mjd is None:
        raise DecodeError(f"locus {locus['id']} has no newest_alert_observation_time")
    ztf_ss = finite(props.get("ztf_ssdistnr"))
    rubin_ss = props.get("lsst_diaSource_ssObjectId")
    reliability = next((finite(props[k]) for k in ("lsst_diaSource_reliability", "ztf_drb", "ztf_rb")
                        if props.get(k) is not None), None)
    catalogs = " ".join(str(c).lower() for c in locus.get("catalogs") or ())
    first = finite(props.get("oldest_alert_observation_time"))
    ztf_first = finite(props.get("ztf_jdstarthist"))
    if ztf_first:
        first = min(first or math.inf, ztf_first - JD_MJD)
    return Candidate(
        broker=broker,
        object_id=str(locus["id"]),
        alert_id=f"{locus['id']}@{mjd:.6f}",
        ra_deg=finite(locus.get("ra")),
        dec_deg=finite(locus.get("dec")),
        mjd=mjd,
        band=props.get("lsst_diaSource_band") or ZTF_BANDS.get(int(props.get("ztf_fid") or 0)),
        mag=finite(props.get("newest_alert_magnitude")),
        flux_njy=finite(props.get("lsst_diaSource_psfFlux")),
        reliability=reliability,
        solar_system=bool(rubin_ss) or (ztf_ss is not None and 0 <= ztf_ss < 5.0),
        known_variable=True if any(name in catalogs for name in VARIABLE_CATALOGS) else None,
        first_mjd=first,
        url=URL.format(locus["id"]),
        detailed=True,
    )
