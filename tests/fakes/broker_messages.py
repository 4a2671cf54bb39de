"""Broker messages exactly as each broker puts them on Kafka, built from real alerts, for the candidate tests, the
benchmark and nothing else. Each builder follows its broker's published wire format:

- ANTARES: ``zlib.compress(BSON(locus))``, locus ``{id, ra, dec, properties, tags, catalogs}`` with flat ``ztf_*``
  properties and the locus's ``newest_alert_*``/``oldest_alert_*`` (antares-client 2.0.2 from PyPI:
  ``antares_client/stream.py`` ``_parse_message``; ``antares_client/_stream/schema/locus.py``). BSON is written
  with pymongo's ``bson`` (an encoder independent of gwbot's decoder).
- Fink: key = the writer schema as JSON, value = schemaless Avro (astrolabsoftware/fink-client @ 24249d9b:
  ``fink_client/consumer.py``); ZTF alerts from ``datatest/ztf/part-3-305711.avro`` and the Rubin schema
  ``datatest/lsst/avro_schema_ftransfer_lsst_2026-03-18_803281.json`` of the same commit (tests/data/brokers).
- Rubin: Confluent wire format, byte 0 then the 4-byte big-endian schema id (major*100+minor), then schemaless
  Avro, schemas and the schema-exact ``fakeAlert.avro`` from the ``lsst-alert-packet`` package on PyPI.
- Lasair: JSON rows of the LSST ``objects`` columns (lsst-uk/lasair-lsst: ``common/schema/8_0/objects.py``;
  ``decl``, not ``dec``).
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import struct
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

DATA = Path(__file__).parents[1] / "data" / "brokers"
JD_MJD = 2400000.5


# --- ANTARES ---------------------------------------------------------------------------------------------

def antares_locus(name: str, ra: float, dec: float, mjd: float, first_mjd: float, *, rb: float = 0.9,
                  ssdistnr: float = -999.0, catalogs: tuple[str, ...] = (), mag: float = 19.5) -> dict[str, Any]:
    """A ZTF locus as ANTARES streams it; the ztf_* values are those of a real Fink ZTF alert."""
    real = fink_ztf_alerts()[0]["candidate"]
    return {"id": name, "ra": ra, "dec": dec,
            "properties": {"num_alerts": 3, "num_mag_values": 3, "oldest_alert_observation_time": first_mjd,
                           "newest_alert_observation_time": mjd, "newest_alert_magnitude": mag,
                           "brightest_alert_magnitude": mag - 0.3, "ztf_object_id": f"ZTF{name[-7:]}",
                           "ztf_rb": rb, "ztf_drb": rb, "ztf_fid": real["fid"], "ztf_magpsf": mag,
                           "ztf_ssdistnr": ssdistnr, "ztf_sgscore1": real["sgscore1"],
                           "ztf_jdstarthist": first_mjd + JD_MJD},
            "tags": [], "catalogs": list(catalogs)}


def antares_value(locus: dict[str, Any], old_shape: bool = False) -> bytes:
    import bson  # pymongo's

    if old_shape:
        locus = {"data": {"id": locus["id"], "attributes": {k: v for k, v in locus.items() if k != "id"}}}
    return zlib.compress(bson.encode(locus))


# --- Fink -------------------------------------------------------------------------------------------------

@cache
def _fink_ztf() -> tuple[dict, list[dict]]:
    with open(DATA / "fink-ztf-8.avro", "rb") as fo:
        reader = fastavro.reader(fo)
        return reader.writer_schema, list(reader)


def fink_ztf_alerts() -> list[dict]:
    return copy.deepcopy(_fink_ztf()[1])


def fink_ztf_message(alert: dict) -> tuple[bytes, bytes]:
    """(key, value): the writer schema as JSON, and the alert as schemaless Avro."""
    schema = _fink_ztf()[0]
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), alert)
    return json.dumps(schema).encode(), out.getvalue()


def moved_ztf(alert: dict, object_id: str, ra: float, dec: float, mjd: float, first_mjd: float | None = None,
              **candidate: Any) -> dict:
    alert = copy.deepcopy(alert)
    alert["objectId"] = object_id
    c = alert["candidate"]
    c.update(ra=ra, dec=dec, jd=mjd + JD_MJD, jdstarthist=(first_mjd if first_mjd is not None else mjd) + JD_MJD,
             **candidate)
    alert["candid"] = c["candid"] = abs(hash((object_id, mjd))) % 10**18
    alert["prv_candidates"] = None
    return alert


@cache
def fink_lsst_schema() -> dict:
    return json.loads(gzip.decompress((DATA / "lsst-fink-schema-2026-03-18.json.gz").read_bytes()))


def filled(schema: Any) -> Any:
    """A value of every field of a schema: null where the schema allows it, else zero/empty."""
    if isinstance(schema, list):
        return None if "null" in schema else filled(schema[0])
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind == "record":
            return {f["name"]: filled(f["type"]) for f in schema["fields"]}
        if kind == "array":
            return []
        if kind == "map":
            return {}
        if kind == "enum":
            return schema["symbols"][0]
        return filled(kind)
    return {"string": "", "bytes": b"", "int": 0, "long": 0, "float": 0.0, "double": 0.0, "boolean": False,
            "null": None}.get(schema)


def _record_type(schema: dict, name: str) -> dict:
    t = next(f["type"] for f in schema["fields"] if f["name"] == name)
    return next(x for x in t if isinstance(x, dict)) if isinstance(t, list) else t


def fink_lsst_alert(dia_object_id: int, ra: float, dec: float, mjd: float, *, reliability: float = 0.9,
                    ss_object_id: int | None = None, first_mjd: float | None = None,
                    host_distance_mpc: float | None = None, band: str = "r", flux: float = 5000.0) -> dict:
    """A Fink Rubin alert, every field of the schema present (null or zero unless set)."""
    schema = fink_lsst_schema()
    alert = filled(schema)
    source = filled(_record_type(schema, "diaSource"))
    source.update(diaSourceId=dia_object_id * 10 + 1, diaObjectId=None if ss_object_id else dia_object_id,
                  ssObjectId=ss_object_id, ra=ra, dec=dec, midpointMjdTai=mjd, reliability=reliability, band=band,
                  psfFlux=flux)
    alert.update(diaSourceId=source["diaSourceId"], diaSource=source)
    if not ss_object_id:
        obj = filled(_record_type(schema, "diaObject"))
        obj.update(diaObjectId=dia_object_id, ra=ra, dec=dec)
        alert["diaObject"] = obj
    if first_mjd is not None:
        earlier = dict(source, diaSourceId=source["diaSourceId"] - 1, midpointMjdTai=first_mjd)
        alert["prvDiaSources"] = [earlier]
    xm = filled(_record_type(schema, "xm"))
    xm["mangrove_lum_dist"] = host_distance_mpc
    alert["xm"] = xm
    return alert


def fink_lsst_message(alert: dict) -> tuple[bytes, bytes]:
    schema = fink_lsst_schema()
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), alert)
    return json.dumps(schema).encode(), out.getvalue()


# --- Rubin ------------------------------------------------------------------------------------------------

@cache
def _rubin(major: int, minor: int) -> tuple[Any, dict]:
    from lsst.alert.packet.schema import get_schema_root

    root = get_schema_root().joinpath(str(major), str(minor))
    schema = fastavro.schema.load_schema(str(root.joinpath(f"lsst.v{major}_{minor}.alert.avsc")))
    with open(str(root.joinpath("sample_data", "fakeAlert.avro")), "rb") as fo:
        sample = next(fastavro.reader(fo))
    return schema, sample


def rubin_alert(dia_object_id: int, ra: float, dec: float, mjd: float, *, version: tuple[int, int] = (11, 1),
                reliability: float | None = 0.9, ss_object_id: int | None = None, first_mjd: float | None = None,
                cutout_bytes: int = 0, history: int = 0) -> dict:
    """lsst-alert-packet's schema-exact sample alert, moved and re-timed; optional cutouts of real size and a
    history of ``history`` earlier sources."""
    alert = copy.deepcopy(_rubin(*version)[1])
    src = alert["diaSource"]
    when = "midpointMjdTai" if "midpointMjdTai" in src else "midPointTai"  # renamed in schema 4
    src.update({"diaObjectId": None if ss_object_id else dia_object_id, "ssObjectId": ss_object_id,
                "diaSourceId": dia_object_id * 10 + 1, when: mjd, "ra": ra,
                ("dec" if "dec" in src else "decl"): dec})
    if "reliability" in src:
        src["reliability"] = reliability
    alert["diaSourceId"] = src["diaSourceId"]
    previous = [dict(src, **{"diaSourceId": src["diaSourceId"] - 1 - i, when: mjd - 0.5 * (i + 1)})
                for i in range(history)]
    if first_mjd is not None:
        previous.append(dict(src, **{"diaSourceId": src["diaSourceId"] - 999, when: first_mjd}))
    alert["prvDiaSources"] = previous
    if alert.get("diaObject"):
        alert["diaObject"] = dict(alert["diaObject"], diaObjectId=dia_object_id, ra=ra, dec=dec,
                                  firstDiaSourceMjdTai=min([mjd] + [p[when] for p in previous]))
    if ss_object_id:
        alert["diaObject"] = None
    for name in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
        alert[name] = bytes(range(256)) * (cutout_bytes // 256) if cutout_bytes else None
    return alert


def rubin_value(alert: dict, version: tuple[int, int] = (11, 1)) -> bytes:
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, version[0] * 100 + version[1]))
    fastavro.schemaless_writer(out, _rubin(*version)[0], alert)
    return out.getvalue()


# --- Lasair -----------------------------------------------------------------------------------------------

def lasair_ztf_value(object_id: str, ra: float, dec: float, jd_g: float | None, jd_r: float | None, jd_first: float,
                     gmag: float | None = None, rmag: float | None = None, ssnamenr: str | None = None) -> bytes:
    """A Lasair ZTF filter row: columns of lsst-uk/lasair4 @ 3300dd9f : common/schema/objects.py (``jdmax`` is the
    later of ``jdgmax`` and ``jdrmax``; Lasair's JSON writes a missing value as null)."""
    jdmax = max(j for j in (jd_g, jd_r) if j is not None)
    return json.dumps({"objectId": object_id, "ramean": ra, "decmean": dec, "jdmin": jd_first, "jdmax": jdmax,
                       "jdgmax": jd_g, "jdrmax": jd_r, "gmag": gmag, "rmag": rmag, "ncand": 3,
                       "ssnamenr": ssnamenr}).encode()


def lasair_value(dia_object_id: int, ra: float, dec: float, mjd: float, first_mjd: float, flux: float = 3000.0,
                 band: str = "g") -> bytes:
    return json.dumps({"diaObjectId": dia_object_id, "ra": ra, "decl": dec, "firstDiaSourceMjdTai": first_mjd,
                       "lastDiaSourceMjdTai": mjd, "nSources": 2, f"{band}_psfFlux": flux}).encode()
