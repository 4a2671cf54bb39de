"""Read LVK sky maps from FITS bytes or files into plain arrays.

Accepts the multi-order NUNIQ layout (the LVK standard) and flat HEALPix maps
(NESTED or RING, one value per row or packed vector rows), gzipped or not.
Maps with only UNIQ and PROBDENSITY (Burst and some cWB maps) are normal and
simply have no distance. Anything unreadable raises :class:`SkymapError`.
"""

from __future__ import annotations

import gzip
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


def read_skymap(source: bytes | bytearray | memoryview | str | Path) -> SkyMap:
    """Read a sky map from FITS bytes or from a FITS file path (gzip allowed)."""
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise SkymapError(f"cannot read sky map file {source}: {exc.strerror}") from exc
    else:
        data = bytes(source)
    return _parse_fits(_gunzip(data))


def _gunzip(data: bytes) -> bytes:
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise SkymapError(f"gzip sky map is corrupt or truncated ({exc})") from exc


def _parse_fits(data: bytes) -> SkyMap:
    if len(data) == 0:
        raise SkymapError("sky map payload is empty")
    if not data.startswith(_FITS_MAGIC):
        raise SkymapError(f"not a FITS file: payload starts with {data[:16]!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdul = fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=False)
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
        columns = {name.upper(): np.asarray(hdu.data[name]) for name in hdu.columns.names}
    coordsys = str(header.get("COORDSYS", "C")).strip().upper()
    if coordsys not in ("C", "CEL", "EQUATORIAL"):
        raise SkymapError(f"sky map is in coordinate system {coordsys!r}, expected equatorial (C)")
    meta = _meta(header)
    if "UNIQ" in columns:
        return _from_moc(columns, meta)
    return _from_flat(columns, header, meta)


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


def _finish(uniq: np.ndarray, probdensity: np.ndarray, dist: tuple | None, meta: dict) -> SkyMap:
    if len(uniq) == 0:
        raise SkymapError("sky map has no pixels")
    if not np.all(np.isfinite(probdensity)) or np.any(probdensity < 0):
        raise SkymapError("sky map PROBDENSITY has negative or non-finite values")
    order, _ = moc.uniq_to_order_ipix(uniq)
    prob = probdensity * moc.pixel_area_sr(order)
    if not np.sum(prob) > 0:
        raise SkymapError("sky map has zero total probability")
    if dist is not None and "distmean" not in meta:
        meta["distmean"], meta["diststd"] = distance.marginal_moments(prob, dist[0], dist[1])
    dist = dist or (None, None, None)
    return SkyMap(uniq, probdensity, *dist, meta=meta)


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


def _from_flat(columns: dict[str, np.ndarray], header: fits.Header, meta: dict) -> SkyMap:
    prob_name = next((n for n in ("PROB", "PROBABILITY", "PROBDENSITY") if n in columns), None)
    if prob_name is None:
        prob_name = next(iter(columns), None)
    if prob_name is None:
        raise SkymapError("sky map table has no columns")
    prob = columns[prob_name].astype(np.float64).ravel()
    npix = len(prob)
    nside = int(round(np.sqrt(npix / 12)))
    if 12 * nside * nside != npix or nside & (nside - 1):
        raise SkymapError(f"flat sky map has {npix} pixels, not a HEALPix map size (truncated?)")
    dist = _distance_columns(columns)
    values = [prob * npix / (4 * np.pi)] + (list(dist) if dist else [])
    stack = np.column_stack(values)
    ordering = str(header.get("ORDERING", "RING")).strip().upper()
    if ordering == "RING":
        stack = stack[nested_to_ring(np.arange(npix), nside)]
    elif ordering != "NESTED":
        raise SkymapError(f"unknown HEALPix ORDERING {ordering!r}")
    uniq, merged = moc.merge_uniform_blocks(stack)
    merged_dist = (merged[:, 1], merged[:, 2], merged[:, 3]) if dist else None
    return _finish(uniq, merged[:, 0], merged_dist, meta)
