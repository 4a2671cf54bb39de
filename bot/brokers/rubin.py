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
from .record import Candidate, Cutouts, DecodeError, Point, finite

__all__ = ["HEADER", "decode_detail", "decode_evidence", "decode_peek", "evidence", "flux_to_ab", "from_dia_source",
           "photometry", "primary_hdu", "schema_for"]

HEADER = struct.Struct(">bI")
#: What the detail read keeps: the time of each earlier source (named by schema generation), for the
#: first-detection check; the diaSource itself was read by the peek.
DETAIL: dict[str, tuple[str, ...]] = {"diaSource": ("diaSourceId",),
                                      "prvDiaSources": ("midpointMjdTai", "midPointTai")}
#: With evidence on, the whole alert: each source's time, band and flux, the diaObject's first detection and the
#: cutouts; the solar-system records (and 11.1's ``mpc_orbits``) are skipped unread.
_SOURCE = ("diaSourceId", "midpointMjdTai", "midPointTai", "band", "filterName", "psfFlux", "psfFluxErr")
EVIDENCE: dict[str, tuple[str, ...]] = {"diaSource": _SOURCE, "prvDiaSources": _SOURCE, "prvDiaForcedSources": _SOURCE,
                                        "diaObject": ("firstDiaSourceMjdTai",), "ssSource": (), "mpc_orbits": (),
                                        "ssObject": ()}
CAMERA = "LSSTCam"
ZERO_POINT = 31.4  # AB magnitude of 1 nJy: -2.5 log10(1e-9 / 3631)
DETECTED_SNR = 5.0  # a forced measurement this many sigma above zero is a detection; below, a 5-sigma limit


def flux_to_ab(flux_njy: float | None) -> float | None:
    """AB magnitude of a flux in nJy (AB magnitude 0 is 3631 Jy)."""
    if flux_njy is None or not math.isfinite(flux_njy) or flux_njy <= 0:
        return None
    return -2.5 * math.log10(flux_njy / 3631e9)


def _load(key: tuple[int, bool]) -> ParsedSchemas:
    try:
        import fastavro.schema
        from lsst.alert.packet.schema import get_schema_root
    except ImportError:
        raise DecodeError("Rubin alerts need the lsst-alert-packet package (a gwbot dependency): "
                          "reinstall gwbot") from None
    schema_id, with_evidence = key
    major, minor = divmod(schema_id, 100)
    path = get_schema_root().joinpath(str(major), str(minor), f"lsst.v{major}_{minor}.alert.avsc")
    if not path.is_file():
        raise DecodeError(f"unknown Rubin schema id {schema_id} (version {major}.{minor}); "
                          "a newer lsst-alert-packet may know it")
    schema = fastavro.schema.load_schema(str(path), _write_hint=False)
    if with_evidence:
        return ParsedSchemas(schema, "diaSource", None, keep=EVIDENCE)
    # the history (prvDiaSources) follows diaSource: the forced photometry and the cutouts behind it are not read
    return ParsedSchemas(schema, "diaSource", "prvDiaSources", keep=DETAIL)


_SCHEMAS = SchemaCache(_load)


def schema_for(schema_id: int, evidence: bool = False) -> ParsedSchemas:
    return _SCHEMAS.get((schema_id, evidence), (schema_id, evidence))


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
    return with_history(peeked, schema_for(_header(value)).read_detail(value, HEADER.size))


def decode_evidence(value: bytes, detailed: Candidate) -> Candidate:
    """The detailed candidate with the light curve and cutouts the alert carries (the whole alert read, the
    sources' time, band and flux only)."""
    return evidence(detailed, schema_for(_header(value), True).read_detail(value, HEADER.size))


def primary_hdu(data: bytes | None) -> bytes | None:
    """A FITS file cut after its primary HDU: Rubin's stamps (``CCDData.write``) carry the image there, then the
    variance (UNCERT) and the PSF (PSFIMAGE), which are not shown: a third of the bytes to keep. Read from the
    header cards (BITPIX, NAXISn; 80-byte cards in 2880-byte blocks, FITS 4.0 sections 3-4), no FITS library;
    anything unexpected is kept whole."""
    if not data or data[:6] != b"SIMPLE":
        return data
    cards: dict[str, str] = {}
    for i in range(0, min(len(data), 2880 * 36), 80):
        key = data[i:i + 8].decode("ascii", "replace").strip()
        if key == "END":
            header = (i // 2880 + 1) * 2880
            break
        if data[i + 8:i + 10] == b"= ":
            cards[key] = data[i + 10:i + 80].split(b"/")[0].decode("ascii", "replace").strip()
    else:
        return data
    try:
        size = abs(int(cards["BITPIX"])) // 8
        for axis in range(1, int(cards["NAXIS"]) + 1):
            size *= int(cards[f"NAXIS{axis}"])
    except (KeyError, ValueError):
        return data
    if not size:
        return data  # the image is in an extension: keep it all
    end = header + -(-size // 2880) * 2880
    return data[:end] if end <= len(data) else data


def evidence(candidate: Candidate, alert: Mapping[str, Any]) -> Candidate:
    """The candidate with the light curve and cutouts its alert carries."""
    cutouts = Cutouts(*(primary_hdu(alert.get(name)) for name in ("cutoutScience", "cutoutTemplate",
                                                                  "cutoutDifference")))
    return replace(candidate, photometry=photometry(alert, candidate.broker), cutouts=cutouts if cutouts.any else None)


def photometry(alert: Mapping[str, Any], origin: str) -> tuple[Point, ...]:
    """Every detection and limit of a Rubin alert: ``diaSource`` and ``prvDiaSources`` (difference-image
    detections), then ``prvDiaForcedSources`` at visits without one. Fluxes in nJy become AB magnitudes,
    ``m = -2.5 log10(psfFlux) + 31.4`` with ``sigma = 1.0857 psfFluxErr / psfFlux``; a forced flux under 5 sigma
    is a limit at ``-2.5 log10(5 psfFluxErr) + 31.4`` (lsst/alert_packet @ 0e68e3ed; boom-astro/boom @ 8ebd463d :
    src/utils/lightcurves.rs). A negative difference flux is no magnitude: it is left out."""
    points: list[Point] = []
    seen: set[tuple[str, float]] = set()
    for source in [alert.get("diaSource"), *(alert.get("prvDiaSources") or ())]:
        point = _point(source, origin, forced=False)
        if point is not None:
            points.append(point)
            seen.add((point.band, round(point.mjd, 4)))
    for source in alert.get("prvDiaForcedSources") or ():
        point = _point(source, origin, forced=True)
        if point is not None and (point.band, round(point.mjd, 4)) not in seen:
            points.append(point)
    return tuple(sorted(points, key=lambda p: p.mjd))


def _point(source: Mapping[str, Any] | None, origin: str, forced: bool) -> Point | None:
    if not source:
        return None
    mjd, band = finite(_first(source, "midpointMjdTai", "midPointTai")), _first(source, "band", "filterName")
    flux, err = finite(source.get("psfFlux")), finite(source.get("psfFluxErr"))
    if mjd is None or not band or flux is None:
        return None
    if forced and (err is None or err <= 0 or flux < DETECTED_SNR * err):
        if err is None or err <= 0:
            return None
        return Point(mjd, str(band), -2.5 * math.log10(DETECTED_SNR * err) + ZERO_POINT, None, True, origin, CAMERA)
    if flux <= 0:
        return None
    return Point(mjd, str(band), -2.5 * math.log10(flux) + ZERO_POINT,
                 1.0857 * err / flux if err is not None and err > 0 else None, False, origin, CAMERA)


def with_history(candidate: Candidate, alert: Mapping[str, Any]) -> Candidate:
    return replace(candidate, first_mjd=_first_detection(alert, candidate.mjd), detailed=True)
