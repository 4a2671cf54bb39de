"""Read LVK sky maps from FITS bytes or files into plain arrays.

Accepts the multi-order NUNIQ layout (the LVK standard) and flat HEALPix maps
(NESTED or RING, one value per row or packed vector rows), gzipped or not.
Maps with only UNIQ and PROBDENSITY (Burst and some cWB maps) are normal and
simply have no distance. Anything unreadable raises :class:`SkymapError`:
a table without a probability column, a total probability far from 1 (within
:data:`PROB_TOLERANCE` it is normalised, with a warning in ``meta["warnings"]``),
or a map larger than ``max_bytes`` once decompressed. Flat maps are converted
in chunks, so memory stays a small multiple of the decompressed map.
"""

from __future__ import annotations

import io
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy_healpix.core import nested_to_ring

from . import distance, moc

_GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_BYTES = 1024 * 2**20
PROB_TOLERANCE = 0.01  # |total probability - 1| above this is refused; above 1e-6 it is normalised
_FITS_MAGIC = b"SIMPLE  ="
_HEADER_KEYS = {
    "OBJECT": "objid",
    "DATE-OBS": "date_obs",
    "INSTRUME": "instruments",
    "DISTMEAN": "distmean",
    "DISTSTD": "diststd",
    "CREATOR": "creator",
    "ORIGIN": "origin",
    "REFERENC": "url",
}


class SkymapError(ValueError):
    """A sky map payload that cannot be read; the message says what is wrong."""


@dataclass(frozen=True, eq=False)
class SkyMap:
    """A multi-order sky map: per-pixel arrays, sorted by UNIQ, plus header facts.

    ``probdensity`` is per steradian. The distance arrays are all present or
    all None.
    """

    uniq: np.ndarray
    probdensity: np.ndarray
    distmu: np.ndarray | None = None
    distsigma: np.ndarray | None = None
    distnorm: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def has_distance(self) -> bool:
        return self.distmu is not None

    def __len__(self) -> int:
        return len(self.uniq)


def read_skymap(source: bytes | bytearray | memoryview | str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> SkyMap:
    """Read a sky map from FITS bytes or from a FITS file path (gzip allowed), refusing more than
    ``max_bytes`` of (decompressed) FITS."""
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise SkymapError(f"cannot read sky map file {source}: {exc.strerror}") from exc
    else:
        data = bytes(source)
    data = _gunzip(data, max_bytes)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return _parse_fits(data)


def _too_large(max_bytes: int) -> SkymapError:
    return SkymapError(f"sky map is larger than {max_bytes / 2**20:,.0f} MB decompressed (GWBOT_MAX_SKYMAP_MB);"
                       " refused")


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip without ever holding more than ``max_bytes`` of output (a gzip bomb is refused)."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    out = io.BytesIO()
    rest = data
    try:
        while rest.startswith(_GZIP_MAGIC):  # concatenated gzip members are one stream
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(rest, max_bytes + 1 - out.tell())
            out.write(chunk)
            if out.tell() > max_bytes or inflater.unconsumed_tail:
                raise _too_large(max_bytes)
            if not inflater.eof:
                raise SkymapError("gzip sky map is corrupt or truncated (the compressed stream ends early)")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise SkymapError(f"gzip sky map is corrupt or truncated ({exc})") from exc
    return out.getvalue()


def _parse_fits(data: bytes) -> SkyMap:
    if len(data) == 0:
        raise SkymapError("sky map payload is empty")
    if not data.startswith(_FITS_MAGIC):
        raise SkymapError(f"not a FITS file: payload starts with {data[:16]!r}")
    header, columns = _read_table(data)
    coordsys = str(header.get("COORDSYS", "C")).strip().upper()
    if coordsys not in ("C", "CEL", "EQUATORIAL"):
        raise SkymapError(f"sky map is in coordinate system {coordsys!r}, expected equatorial (C)")
    meta = _meta(header)
    if "UNIQ" in columns:
        return _from_moc(columns, meta)
    return _from_flat(columns, header, meta)


def _read_table(data: bytes) -> tuple[fits.Header, dict[str, np.ndarray]]:
    """The first binary table's header and columns. Plain fixed-width tables (every LVK map) are read as views
    straight into ``data``, without a copy; others (scaled columns, heaps) through astropy."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdul = fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=True)
    except Exception as exc:  # astropy raises many types for corrupt headers
        raise SkymapError(f"FITS header is unreadable or truncated ({exc})") from exc
    with hdul:
        tables = [hdu for hdu in hdul if isinstance(hdu, fits.BinTableHDU)]
        if not tables:
            raise SkymapError("FITS file has no binary table: not a HEALPix sky map (or truncated)")
        hdu = tables[0]
        info = hdu.fileinfo()
        expected = info["datLoc"] + hdu.header.get("NAXIS1", 0) * hdu.header.get("NAXIS2", 0)
        if expected > len(data):
            raise SkymapError(
                f"sky map is truncated: FITS table needs {expected} bytes, payload has {len(data)}"
            )
        header = hdu.header
        plain = not any(k.startswith(("TSCAL", "TZERO")) for k in header) and header.get("PCOUNT", 0) == 0
        if plain and header.get("THEAP") is None:
            rows = np.frombuffer(data, dtype=hdu.columns.dtype.newbyteorder(">"), count=header["NAXIS2"],
                                 offset=info["datLoc"])
            return header, {name.upper(): _flat(rows[name]) for name in hdu.columns.names}
        # a field of the table is a strided view: flatten (copy) only packed vector columns
        return header, {name.upper(): _flat(np.asarray(hdu.data[name])) for name in hdu.columns.names}


def _flat(column: np.ndarray) -> np.ndarray:
    return column.ravel() if column.ndim > 1 else column


def _meta(header: fits.Header) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, name in _HEADER_KEYS.items():
        if key in header:
            value = header[key]
            meta[name] = value.strip() if isinstance(value, str) else value
    if "instruments" in meta:
        meta["instruments"] = [s for s in str(meta["instruments"]).split(",") if s]
    return meta


def _distance_columns(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, ...] | None:
    if "DISTMU" not in columns or "DISTSIGMA" not in columns:
        return None
    mu = columns["DISTMU"].astype(np.float64).ravel()
    sigma = columns["DISTSIGMA"].astype(np.float64).ravel()
    if "DISTNORM" in columns:
        norm = columns["DISTNORM"].astype(np.float64).ravel()
    else:
        norm = distance.moments(mu, sigma)[2]
    return mu, sigma, norm


def _pixel_probabilities(uniq: np.ndarray, probdensity: np.ndarray, chunk: int = 2**18) -> np.ndarray:
    """Probability per pixel, computed a chunk at a time (no full-size temporaries on a large map)."""
    prob = np.empty_like(probdensity)
    for start in range(0, len(uniq), chunk):
        part = slice(start, start + chunk)
        order, _ = moc.uniq_to_order_ipix(uniq[part])
        np.multiply(probdensity[part], moc.pixel_area_sr(order), out=prob[part])
    return prob


def _finish(uniq: np.ndarray, probdensity: np.ndarray, dist: tuple | None, meta: dict) -> SkyMap:
    """Checks and derived facts; ``probdensity`` is ours (a copy of the file's), so it may be normalised in place."""
    if len(uniq) == 0:
        raise SkymapError("sky map has no pixels")
    if not np.all(np.isfinite(probdensity)) or np.any(probdensity < 0):
        raise SkymapError("sky map PROBDENSITY has negative or non-finite values")
    prob = _pixel_probabilities(uniq, probdensity)
    total = float(np.sum(prob))
    if not total > 0:
        raise SkymapError("sky map has zero total probability")
    if abs(total - 1) > PROB_TOLERANCE:
        raise SkymapError(f"sky map's total probability is {total:.4g}, not 1: not a probability sky map")
    if abs(total - 1) > 1e-6:
        probdensity /= total
        prob /= total
        meta.setdefault("warnings", []).append(f"total probability was {total:.6f}; normalised to 1")
    if dist is not None and "distmean" not in meta:
        meta["distmean"], meta["diststd"] = distance.marginal_moments(prob, dist[0], dist[1])
    mu, sigma, norm = dist or (None, None, None)
    return SkyMap(uniq, probdensity, mu, sigma, norm, meta=meta)


def _from_moc(columns: dict[str, np.ndarray], meta: dict) -> SkyMap:
    uniq = columns["UNIQ"].astype(np.int64).ravel()
    if "PROBDENSITY" not in columns:
        raise SkymapError("multi-order sky map has UNIQ but no PROBDENSITY column")
    try:
        moc.uniq_to_order_ipix(uniq)
    except ValueError as exc:
        raise SkymapError(f"bad UNIQ column: {exc}") from exc
    probdensity = columns["PROBDENSITY"].astype(np.float64).ravel()
    dist = _distance_columns(columns)
    i = np.argsort(uniq, kind="stable")
    if not np.all(i == np.arange(len(i))):
        uniq, probdensity = uniq[i], probdensity[i]
        dist = tuple(a[i] for a in dist) if dist else None
    return _finish(uniq, probdensity, dist, meta)


class _Density:
    """A flat map's probability column read as density per steradian, a chunk at a time."""

    def __init__(self, prob: np.ndarray) -> None:
        self.prob = prob
        self.scale = len(prob) / (4 * np.pi)

    def __len__(self) -> int:
        return len(self.prob)

    def __getitem__(self, rows) -> np.ndarray:
        return np.asarray(self.prob[rows], dtype=np.float64) * self.scale


def _from_flat(columns: dict[str, np.ndarray], header: fits.Header, meta: dict) -> SkyMap:
    prob_name = next((n for n in ("PROB", "PROBABILITY") if n in columns), None)
    if prob_name is None:
        raise SkymapError(f"sky map table has no probability column (PROB or UNIQ + PROBDENSITY); it has "
                          f"{', '.join(columns) or 'no columns'}")
    npix = len(columns[prob_name])
    nside = int(round(np.sqrt(npix / 12)))
    if 12 * nside * nside != npix or nside & (nside - 1):
        raise SkymapError(f"flat sky map has {npix} pixels, not a HEALPix map size (truncated?)")
    names = ["DISTMU", "DISTSIGMA", "DISTNORM"] if "DISTMU" in columns and "DISTSIGMA" in columns else []
    wanted: list[Any] = [_Density(columns[prob_name])] + [columns[n] for n in names if n in columns]
    ordering = str(header.get("ORDERING", "RING")).strip().upper()
    if ordering not in ("RING", "NESTED"):
        raise SkymapError(f"unknown HEALPix ORDERING {ordering!r}")

    def rows(start: int, stop: int):
        return slice(start, stop) if ordering == "NESTED" else nested_to_ring(np.arange(start, stop), nside)

    uniq, merged = moc.flat_to_multiorder(wanted, rows)
    del wanted, rows
    columns.clear()  # the table's data can go before the arrays below are made
    dist = None
    if names:
        mu, sigma = merged[1], merged[2]
        dist = (mu, sigma, merged[3] if len(merged) == 4 else distance.moments(mu, sigma)[2])
    return _finish(uniq, merged[0], dist, meta)
