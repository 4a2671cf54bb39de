"""Fink's Kafka topics: the message key is the writer schema (JSON) and the value is schemaless Avro written with
it (astrolabsoftware/fink-client @ 24249d9b: ``fink_client/consumer.py``). Two shapes travel that way: ZTF alerts
(the ZTF packet's ``candidate`` record plus Fink's fields) and Rubin alerts (Rubin's packet, ``diaSource`` first,
plus Fink's ``xm``, ``pred`` and ``misc`` blocks)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from . import rubin
from .avro import ParsedSchemas, SchemaCache
from .record import JD_MJD, Candidate, DecodeError, finite

__all__ = ["decode_detail", "decode_peek"]

# object pages: the ZTF portal as Fink's docs link it (fink-broker.readthedocs.io, "Search by name"); the LSST
# portal as Fink's LSST docs (doc.lsst.fink-broker.org) and other brokers' front ends link a diaObjectId
ZTF_URL = "https://fink-portal.org/{}"
LSST_URL = "https://lsst.fink-portal.org/{}"
ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
#: SIMBAD classes of stars, variables and AGN in Fink's ``cdsxmatch`` / ``simbad_otype``: the ANTARES GW
#: filter's "not a known variable or nuclear transient" cut.
STELLAR_OR_AGN = ("*", "Star", "V*", "Variable", "EB", "RRLyr", "Cepheid", "Mira", "CV", "YSO", "AGN", "QSO",
                  "Seyfert", "Blazar", "BLLac", "LINER")

def _parse(text: bytes) -> ParsedSchemas:
    try:
        schema = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"the key is not a JSON Avro schema: {exc}") from None
    names = {f.get("name") for f in schema.get("fields", [])} if isinstance(schema, dict) else set()
    return ParsedSchemas(schema, "diaSource" if "diaSource" in names else "candidate")


_SCHEMAS = SchemaCache(_parse)


def _schemas(key: bytes | None) -> ParsedSchemas:
    if not key:
        raise DecodeError("Fink message without its writer schema in the key")
    return _SCHEMAS.get(hashlib.sha1(key).digest(), key)



def _is_stellar(otype: Any) -> bool | None:
    if otype in (None, "", "Unknown", "nan", "Fail", "None"):
        return None
    return any(str(otype).startswith(prefix) or str(otype).endswith(prefix) for prefix in STELLAR_OR_AGN)


def _ztf(alert: Mapping[str, Any], broker: str) -> Candidate:
    c = alert["candidate"]
    ssdist = finite(c.get("ssdistnr"))
    near_star = (finite(c.get("distpsnr1")) or 99.0) < 1.5 and (finite(c.get("sgscore1")) or 0.0) > 0.5
    rb = finite(c.get("drb")) if c.get("drb") is not None else finite(c.get("rb"))
    first = finite(c.get("jdstarthist"))
    return Candidate(
        broker=broker, object_id=str(alert["objectId"]), alert_id=str(alert.get("candid") or c.get("candid")),
        ra_deg=finite(c.get("ra")), dec_deg=finite(c.get("dec")), mjd=float(c["jd"]) - JD_MJD,
        band=ZTF_BANDS.get(c.get("fid") or 0), mag=finite(c.get("magpsf")), reliability=rb,
        solar_system=ssdist is not None and 0 <= ssdist < 5.0,  # within 5" of a known asteroid
        known_variable=True if near_star else None,
        first_mjd=first - JD_MJD if first and first > 0 else None,
        url=ZTF_URL.format(alert["objectId"]),
    )


def _ztf_detail(alert: Mapping[str, Any], candidate: Candidate) -> Candidate:
    mangrove = alert.get("mangrove") or {}
    stellar = _is_stellar(alert.get("cdsxmatch"))
    return replace(candidate, detailed=True,
                   known_variable=True if stellar or candidate.known_variable or alert.get("gaiaVarFlag") == 1
                   else candidate.known_variable,
                   solar_system=candidate.solar_system or alert.get("roid") == 3,
                   host_distance_mpc=finite(mangrove.get("lum_dist")))


def _lsst_detail(alert: Mapping[str, Any], candidate: Candidate) -> Candidate:
    xm, pred, misc = alert.get("xm") or {}, alert.get("pred") or {}, alert.get("misc") or {}
    variable = (_is_stellar(xm.get("simbad_otype")) or xm.get("gaiadr3_VarFlag") in ("VARIABLE", 1)
                or bool(xm.get("vsx_Type")) or bool(xm.get("gcvs_type")))
    first = rubin.with_history(candidate, alert).first_mjd
    fink_first = finite(misc.get("firstDiaSourceMjdTaiFink"))
    return replace(candidate, detailed=True, first_mjd=min(first or math.inf, fink_first or math.inf),
                   solar_system=candidate.solar_system or bool(pred.get("is_sso")),
                   known_variable=True if variable else None,
                   host_distance_mpc=finite(xm.get("mangrove_lum_dist")),
                   host_redshift=finite(xm.get("legacydr8_zphot")))


def decode_peek(value: bytes, key: bytes | None, broker: str) -> Candidate:
    schemas = _schemas(key)
    alert = schemas.read_quick(value)
    if schemas.through == "diaSource":
        return rubin.from_dia_source(alert["diaSource"], broker, LSST_URL)
    return _ztf(alert, broker)


def decode_detail(value: bytes, key: bytes | None, broker: str) -> Candidate:
    schemas = _schemas(key)
    alert = schemas.read_detail(value)
    if schemas.through == "diaSource":
        return _lsst_detail(alert, rubin.from_dia_source(alert["diaSource"], broker, LSST_URL))
    return _ztf_detail(alert, _ztf(alert, broker))
