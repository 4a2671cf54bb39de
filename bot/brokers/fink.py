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
from .record import JD_MJD, Candidate, Cutouts, DecodeError, Point, finite

__all__ = ["decode_detail", "decode_peek", "ztf_photometry"]

# object pages: the ZTF portal as Fink's docs link it (fink-broker.readthedocs.io, "Search by name"); the LSST
# portal as Fink's LSST docs (doc.lsst.fink-broker.org) and other brokers' front ends link a diaObjectId
ZTF_URL = "https://fink-portal.org/{}"
LSST_URL = "https://lsst.fink-portal.org/{}"
ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
#: SIMBAD classes of stars, variables and AGN in Fink's ``cdsxmatch`` / ``simbad_otype``: the ANTARES GW
#: filter's "not a known variable or nuclear transient" cut.
STELLAR_OR_AGN = ("*", "Star", "V*", "Variable", "EB", "RRLyr", "Cepheid", "Mira", "CV", "YSO", "AGN", "QSO",
                  "Seyfert", "Blazar", "BLLac", "LINER")

#: Fink's own classifier scores, shown as given (fink-science: the kilonova random forest, SuperNNova, the
#: early SN Ia forest; for LSST the ``clf`` block), with the words they are shown under.
ZTF_SCORES = {"rf_kn_vs_nonkn": "Fink kilonova", "snn_snia_vs_nonia": "Fink SN Ia (SuperNNova)",
              "rf_snia_vs_nonia": "Fink early SN Ia"}


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


def ztf_photometry(alert: Mapping[str, Any], origin: str) -> tuple[Point, ...]:
    """The ZTF packet's light curve: ``candidate`` and ``prv_candidates`` (30 days). A row with ``magpsf`` is a
    detection (a negative difference, ``isdiffpos`` f/0, is left out); a row without one is a limit at
    ``diffmaglim`` (ZwickyTransientFacility/ztf-avro-alert @ 75a9831c, schema 4.02). Times are JD."""
    points = []
    for row in [alert.get("candidate"), *(alert.get("prv_candidates") or ())]:
        if not row:
            continue
        jd, band = finite(row.get("jd")), ZTF_BANDS.get(row.get("fid") or 0)
        if jd is None or band is None:
            continue
        mag, limit = finite(row.get("magpsf")), finite(row.get("diffmaglim"))
        if mag is not None:
            if str(row.get("isdiffpos") or "t").lower() in ("t", "1", "true"):
                points.append(Point(jd - JD_MJD, band, mag, finite(row.get("sigmapsf")), False, origin, "ZTF"))
        elif limit is not None:
            points.append(Point(jd - JD_MJD, band, limit, None, True, origin, "ZTF"))
    return tuple(sorted(points, key=lambda p: p.mjd))


def _stamp(cutout: Any) -> bytes | None:
    return cutout.get("stampData") if isinstance(cutout, Mapping) else None


def _scores(values: Mapping[str, Any], names: Mapping[str, str] | None = None) -> tuple[tuple[str, float], ...]:
    """The numeric scores among ``values`` (all of them, or those ``names`` words), as given."""
    keys = names or {k: k for k in values}
    return tuple((words, float(v)) for key, words in keys.items()
                 if (v := finite(values.get(key))) is not None and v >= 0)


def _ztf_detail(alert: Mapping[str, Any], candidate: Candidate) -> Candidate:
    mangrove = alert.get("mangrove") or {}
    stellar = _is_stellar(alert.get("cdsxmatch"))
    cutouts = Cutouts(*(_stamp(alert.get(f"cutout{k}")) for k in ("Science", "Template", "Difference")))
    return replace(candidate, detailed=True, photometry=ztf_photometry(alert, candidate.broker),
                   cutouts=cutouts if cutouts.any else None, scores=_scores(alert, ZTF_SCORES),
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
    return replace(rubin.evidence(candidate, alert), detailed=True,
                   first_mjd=min(first or math.inf, fink_first or math.inf),
                   scores=_scores(alert.get("clf") or {}),
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
