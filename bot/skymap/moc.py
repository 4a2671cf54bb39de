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


def merge_uniform_blocks(values: np.ndarray, n_top: int = 12, top_order: int = 0, first: int = 0,
                         uniform_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Turn NESTED pixels into multi-order pixels by merging uniform blocks.

    ``values`` has shape (npix, ncols): consecutive NESTED pixels that make up ``n_top`` whole pixels of
    ``top_order`` starting at index ``first`` (by default the whole sky: 12 base pixels). A block becomes one
    coarser pixel when all its rows are identical (NaN equal to NaN), from the top order down, exactly as
    ligo.skymap's ``derasterize`` does; this keeps cross-match ranks identical to the reference on upsampled
    flat maps. ``uniform_rows`` marks which rows may be merged at all (default: every row); rows not marked
    are left out of the result. Returns (uniq, values of the kept pixels), sorted by uniq.
    """
    npix, ncols = values.shape
    depth = int(round(np.log2(npix / n_top) / 2))
    if n_top * 4**depth != npix:
        raise ValueError(f"{npix} pixels is not {n_top} whole HEALPix pixels")
    # uniform[j][i]: block i at order top_order + j has identical, mergeable rows. Built bottom-up.
    uniform = [np.ones(npix, dtype=bool) if uniform_rows is None else np.asarray(uniform_rows, dtype=bool)]
    rep = values
    for _ in range(depth):
        blocks = rep.reshape(-1, 4, ncols)
        eq = (blocks == blocks[:, :1]) | (np.isnan(blocks) & np.isnan(blocks[:, :1]))
        uniform.append(uniform[-1].reshape(-1, 4).all(axis=1) & eq.all(axis=(1, 2)))
        rep = blocks[:, 0]
    uniform.reverse()  # uniform[j] is now for order top_order + j
    uniq_parts, value_parts = [], []
    covered = np.zeros(n_top, dtype=bool)
    for j in range(depth + 1):
        take = uniform[j] & ~covered
        local = np.flatnonzero(take)
        uniq_parts.append(order_ipix_to_uniq(top_order + j, first * 4**j + local))
        value_parts.append(values[local * 4 ** (depth - j)])
        if j < depth:
            covered = np.repeat(covered | take, 4)
    uniq = np.concatenate(uniq_parts)
    merged = np.concatenate(value_parts)
    i = np.argsort(uniq)
    return uniq[i], merged[i]


def flat_to_multiorder(columns: list, nested_rows, chunk_pixels: int = 4**7) -> tuple[np.ndarray, list[np.ndarray]]:
    """A flat map of ``len(columns[0])`` pixels as multi-order pixels, converted in NESTED chunks so that
    memory stays a small multiple of the map. ``nested_rows(start, stop)`` gives the rows of the NESTED
    pixels start..stop-1 in ``columns`` (the identity for NESTED maps, a permutation for RING).
    Returns the uniq indices and one float64 array per column, sorted by uniq."""
    npix = len(columns[0])
    order = int(round(np.log2(npix / 12) / 2))
    chunk_order = max(0, order - int(round(np.log2(chunk_pixels) / 2)))
    size = 4 ** (order - chunk_order)
    n_chunks = 12 * 4**chunk_order
    coarse = np.full((n_chunks, len(columns)), np.nan)
    whole = np.zeros(n_chunks, dtype=bool)
    uniq_parts: list[np.ndarray] = []
    column_parts: list[list[np.ndarray]] = [[] for _ in columns]
    for c in range(n_chunks):
        rows = nested_rows(c * size, (c + 1) * size)
        block = np.column_stack([np.asarray(col[rows], dtype=np.float64) for col in columns])
        uniq, merged = merge_uniform_blocks(block, n_top=1, top_order=chunk_order, first=c)
        if len(uniq) == 1:  # the chunk is one pixel: it may merge further with its neighbours
            whole[c], coarse[c] = True, merged[0]
        else:
            uniq_parts.append(uniq)
            for parts, column in zip(column_parts, merged.T, strict=True):
                parts.append(column.copy())  # a column of its own, so the chunk's block can go
    uniq, merged = merge_uniform_blocks(coarse, uniform_rows=whole)
    every = np.concatenate([uniq, *uniq_parts])
    uniq_parts.clear()
    by_uniq = np.argsort(every)
    out = []
    for k, parts in enumerate(column_parts):  # one column at a time: its parts go as it is built
        out.append(np.concatenate([merged[:, k], *parts])[by_uniq])
        parts.clear()
    return every[by_uniq], out
