"""Instrument footprints on the sky, and the sky they cover, over plain arrays.

A footprint is a list of CCD polygons in degrees about the pointing centre at position angle 0, as
Treasure Map keeps them. It is placed on the sky by the rotation Treasure Map itself uses
(TheTreasureMap/gwtm @ c7a124ff : server/utils/geometry.py ``project_footprint``: position angle, then Dec,
then RA), so our picture of someone's pointing is theirs. Covered sky is found by sampling each footprint
on a grid finer than the HEALPix pixels it is binned into, all pointings of an instrument at once, and is
kept as sorted pixel ranges (:class:`Region`) that any position is looked up in with one binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.path import Path

from bot.skymap import moc

__all__ = ["COVER_ORDER", "Region", "covered_pixels", "order_for", "outline"]

COVER_ORDER = 16  # ranges are kept at this order (3.2 arcsec pixels)
MAX_POINTS = 2_000_000  # sky samples per chunk of pointings


def _rotations(ra: np.ndarray, dec: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """[P, 3, 3]: row vectors in the footprint's frame times these are sky vectors (x_rot(-pa) y_rot(dec)
    z_rot(-ra), as Treasure Map composes them)."""
    a, d, r = np.deg2rad(-pa), np.deg2rad(dec), np.deg2rad(-ra)
    one, zero = np.ones_like(a), np.zeros_like(a)
    x = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, np.cos(a), -np.sin(a)], -1),
                  np.stack([zero, np.sin(a), np.cos(a)], -1)], -2)
    y = np.stack([np.stack([np.cos(d), zero, np.sin(d)], -1), np.stack([zero, one, zero], -1),
                  np.stack([-np.sin(d), zero, np.cos(d)], -1)], -2)
    z = np.stack([np.stack([np.cos(r), -np.sin(r), zero], -1), np.stack([np.sin(r), np.cos(r), zero], -1),
                  np.stack([zero, zero, one], -1)], -2)
    return x @ y @ z


def _vectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> np.ndarray:
    lon, lat = np.deg2rad(lon_deg), np.deg2rad(lat_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def _lonlat(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.rad2deg(np.arctan2(v[..., 1], v[..., 0])) % 360.0, np.rad2deg(np.arcsin(np.clip(v[..., 2], -1, 1)))


def _place(lon: np.ndarray, lat: np.ndarray, ra, dec, pa) -> tuple[np.ndarray, np.ndarray]:
    """Footprint-frame points [G] placed at each pointing [P] -> sky (RA, Dec) [P, G] in degrees."""
    ra, dec = np.atleast_1d(np.asarray(ra, float)), np.atleast_1d(np.asarray(dec, float))
    pa = np.broadcast_to(np.nan_to_num(np.asarray(pa, float)), ra.shape)
    return _lonlat(np.einsum("gi,pij->pgj", _vectors(lon, lat), _rotations(ra, dec, pa)))


def outline(polygon: np.ndarray, ra: float, dec: float, pa: float | None = 0.0) -> np.ndarray:
    """[N, 2] sky (RA, Dec) of one CCD polygon placed at a pointing."""
    ras, decs = _place(polygon[:, 0], polygon[:, 1], ra, dec, pa or 0.0)
    return np.stack([ras[0], decs[0]], -1)


def _pixel_deg(order: int) -> float:
    return float(np.rad2deg(np.sqrt(moc.pixel_area_sr(np.asarray(order)))))


def order_for(polygons: list[np.ndarray]) -> int:
    """The HEALPix order whose pixels are at most a quarter of the smallest CCD's side."""
    sides = [min(np.ptp(p[:, 0]), np.ptp(p[:, 1])) for p in polygons if len(p) >= 3]
    side = max(min(sides, default=1.0), 1e-3)
    order = 0
    while order < 14 and _pixel_deg(order) > side / 4:
        order += 1
    return order


def _grid(polygons: list[np.ndarray], spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points (lon, lat) of a square grid with this spacing that fall inside any of the polygons."""
    every = np.vstack(polygons)
    lo, hi = every.min(axis=0), every.max(axis=0)
    xs = np.arange(lo[0] + spacing / 2, hi[0], spacing)
    ys = np.arange(lo[1] + spacing / 2, hi[1], spacing)
    points = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    inside = np.zeros(len(points), dtype=bool)
    for polygon in polygons:
        inside |= Path(polygon).contains_points(points)
    return points[inside, 0], points[inside, 1]


def covered_pixels(polygons: list[np.ndarray], ra, dec, pa, order: int) -> tuple[np.ndarray, np.ndarray]:
    """(pointing index, NESTED pixel at ``order``) for every pixel whose centre lies in a pointing's footprint.

    Candidates come from sampling the footprint at half the pixel size; each is kept only if its centre,
    taken back into the footprint's frame, falls inside a CCD, so the covered area is unbiased at the edges.
    """
    lon, lat = _grid(polygons, _pixel_deg(order) / 2)
    ra, dec = np.atleast_1d(np.asarray(ra, float)), np.atleast_1d(np.asarray(dec, float))
    pa = np.broadcast_to(np.nan_to_num(np.asarray(pa, float)), ra.shape)
    paths = [Path(p) for p in polygons]
    n_pix = 12 * 4 ** order
    chunk = max(1, MAX_POINTS // max(len(lon), 1))
    which, pixels = [], []
    for i in range(0, len(ra), chunk):
        sl = slice(i, i + chunk)
        sky_ra, sky_dec = _place(lon, lat, ra[sl], dec[sl], pa[sl])
        ipix = moc.lonlat_to_nested(np.deg2rad(sky_ra).ravel(), np.deg2rad(sky_dec).ravel(), order)
        key = np.unique(np.repeat(np.arange(sky_ra.shape[0], dtype=np.int64), sky_ra.shape[1]) * n_pix + ipix)
        k, cand = key // n_pix, key % n_pix
        c_ra, c_dec = moc.nested_to_lonlat(order, cand)
        local = np.einsum("ni,nji->nj", _vectors(np.rad2deg(c_ra), np.rad2deg(c_dec)),
                          _rotations(ra[sl], dec[sl], pa[sl])[k])  # times the transpose: back to the frame
        l_lon, l_lat = _lonlat(local)
        points = np.stack([(l_lon + 180.0) % 360.0 - 180.0, l_lat], -1)
        inside = np.zeros(len(cand), dtype=bool)
        for path in paths:
            inside |= path.contains_points(points)
        which.append(k[inside] + i)
        pixels.append(cand[inside])
    if not which:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(which), np.concatenate(pixels)


@dataclass(frozen=True)
class Region:
    """A set of sky: sorted, disjoint NESTED ranges [start, end) at :data:`COVER_ORDER`."""

    start: np.ndarray
    end: np.ndarray

    @classmethod
    def empty(cls) -> Region:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def of_pixels(cls, order: int, ipix: np.ndarray) -> Region:
        ipix = np.unique(np.asarray(ipix, dtype=np.int64))
        start, end = moc.nested_ranges(np.full(len(ipix), order), ipix, COVER_ORDER)
        return cls._merged(start, end)

    @classmethod
    def _merged(cls, start: np.ndarray, end: np.ndarray) -> Region:
        if len(start) == 0:
            return cls.empty()
        by = np.argsort(start, kind="stable")
        start, end = start[by], end[by]
        reach = np.maximum.accumulate(end)
        new = np.ones(len(start), dtype=bool)
        new[1:] = start[1:] > reach[:-1]
        return cls(start[new], np.maximum.reduceat(end, np.flatnonzero(new)))

    def union(self, other: Region) -> Region:
        return Region._merged(np.concatenate([self.start, other.start]), np.concatenate([self.end, other.end]))

    def contains(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
        ipix = moc.lonlat_to_nested(np.deg2rad(ra_deg), np.deg2rad(dec_deg), COVER_ORDER)
        j = np.searchsorted(self.start, ipix, side="right") - 1
        return (j >= 0) & (ipix < self.end[np.maximum(j, 0)]) if len(self.start) else np.zeros(np.shape(ipix), bool)

    @property
    def area_deg2(self) -> float:
        return float(np.sum(self.end - self.start) * moc.pixel_area_sr(np.asarray(COVER_ORDER))
                     * np.square(180 / np.pi))
