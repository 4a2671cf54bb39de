"""Rubin's own alert stream: the Confluent wire format (byte 0, a 4-byte big-endian schema id = major * 100 +
minor, then schemaless Avro) with the writer schemas of the ``lsst-alert-packet`` package (``schema/<major>/
<minor>/lsst.v<major>_<minor>.alert.avsc``). Field names changed between versions (``decl``/``dec``,
``midPointTai``/``midpointMjdTai``, ``filterName``/``band``); :func:`from_dia_source` reads them all."""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .avro import ParsedSchemas, SchemaCache
from .record import Candidate, DecodeError

__all__ = ["HEADER", "decode_detail", "decode_peek", "flux_to_ab", "from_dia_source", "schema_for"]

HEADER = struct.Struct(">bI")
#: What the detail read keeps: the time of each earlier source (named by schema generation), for the
#: first-detection check; the diaSource itself was read by the peek.
DETAIL: dict[str, tuple[str, ...]] = {"diaSource": ("diaSourceId",),
                                      "prvDiaSources": ("midpointMjdTai", "midPointTai")}


def flux_to_ab(flux_njy: float | None) -> float | None:
    """AB magnitude of a flux in nJy (AB magnitude 0 is 3631 Jy)."""
    if flux_njy is None or not math.isfinite(flux_njy) or flux_njy <= 0:
        return None
    return -2.5 * math.log10(flux_njy / 3631e9)


def _load(schema_id: int) -> ParsedSchemas:
    try:
        import fastavro.schema
        from lsst.alert.packet.schema import get_schema_root
    except ImportError:
        raise DecodeError("Rubin alerts need the lsst-alert-packet package (a gwbot dependency): "
                          "reinstall gwbot") from None
    major, minor = divmod(schema_id, 100)
    path = get_schema_root().joinpath(str(major), str(minor), f"lsst.v{major}_{minor}.alert.avsc")
    if not path.is_file():
        raise DecodeError(f"unknown Rubin schema id {schema_id} (version {major}.{minor}); "
                          "a newer lsst-alert-packet may know it")
    # the history (prvDiaSources) follows diaSource: the forced photometry and the cutouts behind it are not read
    return ParsedSchemas(fastavro.schema.load_schema(str(path), _write_hint=False), "diaSource", "prvDiaSources",
                         keep=DETAIL)


_SCHEMAS = SchemaCache(_load)


def schema_for(schema_id: int) -> ParsedSchemas:
    return _SCHEMAS.get(schema_id, schema_id)


def _header(value: bytes) -> int:
    if len(value) < HEADER.size:
        raise DecodeError("shorter than the Confluent wire-format header")
    magic, schema_id = HEADER.unpack_from(value)
    if magic != 0:
        raise DecodeError(f"not the Confluent wire format (first byte {magic}, not 0)")
    return schema_id


def _first(d: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if d.get(name) is not None:
            return d[name]
    return None


def from_dia_source(source: Mapping[str, Any], broker: str, url: str | None = None) -> Candidate:
    """The candidate a diaSource describes (any schema version)."""
    flux = _first(source, "psfFlux")
    ss = _first(source, "ssObjectId")
    object_id = _first(source, "diaObjectId")
    mjd = _first(source, "midpointMjdTai", "midPointTai")
    if mjd is None:
        raise DecodeError("diaSource has no time")
    return Candidate(
        broker=broker,
        object_id=str(object_id if object_id else f"ss{ss}" if ss else source.get("diaSourceId")),
        alert_id=str(source.get("diaSourceId")),
        ra_deg=_first(source, "ra"),
        dec_deg=_first(source, "dec", "decl"),
        mjd=float(mjd),
        band=_first(source, "band", "filterName"),
        mag=flux_to_ab(flux),
        flux_njy=flux,
        reliability=_first(source, "reliability"),
        solar_system=bool(ss),
        url=url.format(object_id) if url and object_id else None,
    )


def _first_detection(alert: Mapping[str, Any], mjd: float) -> float:
    """The object's first detection: the diaObject's own record, the earliest previous source, or this one."""
    times = [mjd]
    for source in alert.get("prvDiaSources") or ():
        t = _first(source, "midpointMjdTai", "midPointTai")
        if t is not None:
            times.append(float(t))
    obj = alert.get("diaObject") or {}
    first = _first(obj, "firstDiaSourceMjdTai")
    if first is not None:
        times.append(float(first))
    return min(times)


def decode_peek(value: bytes, broker: str, url: str | None = None) -> Candidate:
    schemas = schema_for(_header(value))
    return from_dia_source(schemas.read_quick(value, HEADER.size)["diaSource"], broker, url)


def decode_detail(value: bytes, peeked: Candidate) -> Candidate:
    """The peeked candidate with the alert's history read."""
    schemas = schema_for(_header(value))
    return with_history(peeked, schemas.read_detail(value, HEADER.size))


def with_history(candidate: Candidate, alert: Mapping[str, Any]) -> Candidate:
    return replace(candidate, first_mjd=_first_detection(alert, candidate.mjd), detailed=True)
