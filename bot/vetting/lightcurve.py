"""What a light curve says, in numbers: per band the rise and fade rates (a weighted linear fit of magnitude
against time, before and after the brightest detection, as ZTFReST fits them: growth-astro/ztfrest @ ba84b4b3),
the g-r colour where both bands were seen close in time and how it changes, counts, and the age against the
merger."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bot.brokers.record import Point

__all__ = ["COLOUR_PAIR_DAYS", "Colour", "LightCurveFacts", "Rate", "facts", "fit_line", "merge"]

COLOUR_PAIR_DAYS = 0.5  # g and r detections this close in time make a colour
MIN_SPAN_DAYS = 0.01  # ~15 min: two detections closer than this give no rate
DEFAULT_ERR = 0.1  # a detection without an uncertainty
ERR_FLOOR = 0.02  # calibration: no detection is weighted as better than this
MAX_POINTS = 2000  # kept per candidate (Rubin forced photometry can reach a year)


@dataclass(frozen=True)
class Rate:
    """dm/dt in one band, mag/day: positive is fading. ``phase`` is "rise" (up to the brightest detection) or
    "fade" (from it)."""

    band: str
    phase: str
    slope: float
    err: float
    n: int
    span_days: float


@dataclass(frozen=True)
class Colour:
    """g - r from a g and an r detection within :data:`COLOUR_PAIR_DAYS`."""

    mjd: float
    value: float
    err: float


@dataclass(frozen=True)
class LightCurveFacts:
    rates: tuple[Rate, ...]
    colours: tuple[Colour, ...]
    reddening: float | None  # d(g-r)/dt, mag/day, when colours span half a day or more
    detections: int
    limits: int
    first_mjd: float | None  # of the detections
    last_mjd: float | None
    before_merger: int  # detections before the merger
    last_limit_before: Point | None  # the last non-detection before the first detection
    merger_mjd: float | None

    @property
    def hours_after_merger(self) -> float | None:
        if self.first_mjd is None or self.merger_mjd is None:
            return None
        return (self.first_mjd - self.merger_mjd) * 24.0

    @property
    def span_days(self) -> float:
        return 0.0 if self.first_mjd is None or self.last_mjd is None else self.last_mjd - self.first_mjd

    @property
    def colour(self) -> Colour | None:
        return self.colours[-1] if self.colours else None


def merge(*curves: Iterable[Point]) -> tuple[Point, ...]:
    """One light curve from several alerts and brokers: a point seen twice (same origin, band and time to ~1 s)
    is kept once, the later copy winning; time order; at most :data:`MAX_POINTS` (the latest)."""
    by_key: dict[tuple[str, str, float, bool], Point] = {}
    for curve in curves:
        for p in curve:
            by_key[(p.origin, p.band, round(p.mjd, 5), p.limit)] = p
    return tuple(sorted(by_key.values(), key=lambda p: p.mjd))[-MAX_POINTS:]


def fit_line(t: list[float], m: list[float], err: list[float]) -> tuple[float, float]:
    """Weighted least squares m = a + b t: (b, sigma_b)."""
    w = [1.0 / e ** 2 for e in err]
    s, st = sum(w), sum(wi * ti for wi, ti in zip(w, t, strict=True))
    sm = sum(wi * mi for wi, mi in zip(w, m, strict=True))
    stt = sum(wi * ti * ti for wi, ti in zip(w, t, strict=True))
    stm = sum(wi * ti * mi for wi, ti, mi in zip(w, t, m, strict=True))
    delta = s * stt - st * st
    if delta <= 0:
        return math.nan, math.inf
    return (s * stm - st * sm) / delta, math.sqrt(s / delta)


def _rate(band: str, phase: str, points: list[Point]) -> Rate | None:
    if len(points) < 2 or points[-1].mjd - points[0].mjd < MIN_SPAN_DAYS:
        return None
    t0 = points[0].mjd
    slope, err = fit_line([p.mjd - t0 for p in points], [p.mag for p in points],
                          [max(p.err if p.err is not None else DEFAULT_ERR, ERR_FLOOR) for p in points])
    if not math.isfinite(slope):
        return None
    return Rate(band, phase, slope, err, len(points), points[-1].mjd - t0)


def _colours(g: list[Point], r: list[Point]) -> list[Colour]:
    out = []
    for pg in g:
        near = min(r, key=lambda pr: abs(pr.mjd - pg.mjd), default=None)
        if near is not None and abs(near.mjd - pg.mjd) <= COLOUR_PAIR_DAYS:
            e = math.hypot(pg.err or DEFAULT_ERR, near.err or DEFAULT_ERR)
            out.append(Colour((pg.mjd + near.mjd) / 2, pg.mag - near.mag, e))
    return out


def facts(points: Iterable[Point], merger_mjd: float | None = None) -> LightCurveFacts:
    """The numbers of a light curve; with the merger time, rates and colours use only what came after it."""
    points = sorted(points, key=lambda p: p.mjd)
    detections = [p for p in points if not p.limit]
    after = [p for p in detections if merger_mjd is None or p.mjd >= merger_mjd]
    rates: list[Rate] = []
    bands: dict[str, list[Point]] = {}
    for p in after:
        bands.setdefault(p.band, []).append(p)
    for band, seen in sorted(bands.items()):
        peak = min(range(len(seen)), key=lambda i: seen[i].mag)
        for phase, part in (("rise", seen[:peak + 1]), ("fade", seen[peak:])):
            rate = _rate(band, phase, part)
            if rate is not None:
                rates.append(rate)
    colours = _colours(bands.get("g", []), bands.get("r", []))
    reddening = None
    if len(colours) >= 2 and colours[-1].mjd - colours[0].mjd >= COLOUR_PAIR_DAYS:
        reddening = fit_line([c.mjd for c in colours], [c.value for c in colours], [c.err for c in colours])[0]
    first = detections[0].mjd if detections else None
    before = [p for p in points if p.limit and first is not None and p.mjd < first]
    return LightCurveFacts(tuple(rates), tuple(colours), reddening, len(detections), len(points) - len(detections),
                           first, detections[-1].mjd if detections else None,
                           sum(merger_mjd is not None and p.mjd < merger_mjd for p in detections),
                           before[-1] if before else None, merger_mjd)
