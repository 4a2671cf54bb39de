"""Multi-order (NUNIQ) HEALPix helpers: plain functions over integer arrays.

A NUNIQ index packs a HEALPix order and a NESTED pixel index into one integer,
``uniq = 4 * 4**order + ipix`` (the IVOA MOC convention used by LVK sky maps).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy_healpix import HEALPix, lonlat_to_healpix

#: Deepest order whose NESTED indices fit comfortably in int64 arithmetic.
MAX_ORDER = 29


def uniq_to_order_ipix(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split NUNIQ indices into (order, nested ipix)."""
    uniq = np.asarray(uniq, dtype=np.int64)
    if np.any(uniq < 4):
        raise ValueError("UNIQ values must be >= 4")
    # 4**(order+1) <= uniq < 4**(order+2); bit_length via frexp is exact for int64 < 2**53
    _, exponent = np.frexp(uniq.astype(np.float64))
    order = (exponent - 1) // 2 - 1
    ipix = uniq - (np.int64(4) << (2 * order).astype(np.int64))
    return order.astype(np.int64), ipix


def order_ipix_to_uniq(order: np.ndarray | int, ipix: np.ndarray) -> np.ndarray:
    """Pack (order, nested ipix) into NUNIQ indices."""
    order = np.asarray(order, dtype=np.int64)
    return (np.int64(4) << (2 * order)) + np.asarray(ipix, dtype=np.int64)


def pixel_area_sr(order: np.ndarray) -> np.ndarray:
    """Area of one pixel of the given order, in steradians."""
    return np.pi / 3 / np.exp2(2 * np.asarray(order, dtype=np.float64))


def nested_ranges(order: np.ndarray, ipix: np.ndarray, max_order: int) -> tuple[np.ndarray, np.ndarray]:
    """The [start, end) range of each pixel's descendants at ``max_order``."""
    shift = (2 * (max_order - order)).astype(np.int64)
    start = ipix << shift
    return start, (ipix + 1) << shift


def lonlat_to_nested(ra_rad: np.ndarray, dec_rad: np.ndarray, order: int) -> np.ndarray:
    """NESTED pixel index at ``order`` containing each (RA, Dec) in radians."""
    return lonlat_to_healpix(
        np.asarray(ra_rad, dtype=np.float64) * u.rad,
        np.asarray(dec_rad, dtype=np.float64) * u.rad,
        nside=1 << order,
        order="nested",
    )


def nested_to_lonlat(order: np.ndarray | int, ipix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (RA, Dec) in radians of NESTED pixels, possibly of mixed orders."""
    order = np.broadcast_to(np.asarray(order, dtype=np.int64), np.shape(ipix))
    ipix = np.asarray(ipix, dtype=np.int64)
    ra = np.empty(ipix.shape)
    dec = np.empty(ipix.shape)
    for level in np.unique(order):
        sel = order == level
        lon, lat = HEALPix(nside=1 << int(level), order="nested").healpix_to_lonlat(ipix[sel])
        ra[sel] = lon.to_value(u.rad)
        dec[sel] = lat.to_value(u.rad)
    return ra, dec


def merge_uniform_blocks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn a flat NESTED map into multi-order pixels by merging uniform blocks.

    ``values`` has shape (npix, ncols). A block of pixels becomes one coarser
    pixel when all its rows are identical (NaN equal to NaN), from the top
    order down, exactly as ligo.skymap's ``derasterize`` does; this keeps
    cross-match ranks identical to the reference on upsampled flat maps.
    Returns (uniq, values of the kept pixels).
    """
    npix = values.shape[0]
    max_order = int(round(np.log2(npix / 12) / 2))
    if 12 * 4**max_order != npix:
        raise ValueError(f"{npix} pixels is not a valid HEALPix map size")
    # uniform[k][i]: block i at order k has identical rows. Built bottom-up.
    uniform = [np.ones(npix, dtype=bool)]
    rep = values
    for _ in range(max_order):
        blocks = rep.reshape(-1, 4, values.shape[1])
        eq = (blocks == blocks[:, :1]) | (np.isnan(blocks) & np.isnan(blocks[:, :1]))
        uniform.append(uniform[-1].reshape(-1, 4).all(axis=1) & eq.all(axis=(1, 2)))
        rep = blocks[:, 0]
    uniform.reverse()  # uniform[k] is now for order k
    uniq_parts, value_parts = [], []
    covered = np.zeros(12, dtype=bool)
    for order in range(max_order + 1):
        take = uniform[order] & ~covered
        ipix = np.flatnonzero(take)
        skip = 4 ** (max_order - order)
        uniq_parts.append(order_ipix_to_uniq(order, ipix))
        value_parts.append(values[ipix * skip])
        if order < max_order:
            covered = np.repeat(covered | take, 4)
    uniq = np.concatenate(uniq_parts)
    merged = np.concatenate(value_parts)
    i = np.argsort(uniq)
    return uniq[i], merged[i]
