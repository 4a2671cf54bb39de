"""The normalized candidate record every broker format is decoded into."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["JD_MJD", "MJD_UNIX_EPOCH", "Candidate", "Cutouts", "DecodeError", "Format", "Point", "finite",
           "mjd_to_unix", "unix_to_mjd"]

MJD_UNIX_EPOCH = 40587.0  # MJD of 1970-01-01T00:00:00
JD_MJD = 2400000.5  # JD - MJD (ZTF times are Julian days)


def finite(value: Any) -> float | None:
    """A number from a broker field, or None for null, text such as 'None' or 'nan', and infinities."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def mjd_to_unix(mjd: float) -> float:
    return (mjd - MJD_UNIX_EPOCH) * 86400.0


def unix_to_mjd(seconds: float) -> float:
    return seconds / 86400.0 + MJD_UNIX_EPOCH


class Format(StrEnum):
    ANTARES = "antares"
    FINK = "fink"
    LASAIR = "lasair"
    RUBIN = "rubin"
    BOOM = "boom"


class DecodeError(ValueError):
    """A message that is not what its topic's format says: counted, reported, committed, skipped."""


@dataclass(frozen=True)
class Point:
    """One photometric point of a light curve: a detection (``mag`` ± ``err``) or, when ``limit``, a non-detection
    whose ``mag`` is the 5-sigma limiting magnitude. AB magnitudes; ``origin`` says which broker's alert carried it,
    ``instrument`` which camera measured it (LSSTCam, ZTF, or as a BOOM notice names it)."""

    mjd: float
    band: str
    mag: float
    err: float | None = None
    limit: bool = False
    origin: str = ""
    instrument: str = ""

    def to_json(self) -> list:
        return [round(self.mjd, 6), self.band, round(self.mag, 4),
                None if self.err is None else round(self.err, 4), self.limit, self.origin, self.instrument]

    @classmethod
    def from_json(cls, row: list) -> Point:
        return cls(float(row[0]), str(row[1]), float(row[2]), None if row[3] is None else float(row[3]),
                   bool(row[4]), str(row[5]), str(row[6]) if len(row) > 6 else "")


@dataclass(frozen=True)
class Cutouts:
    """The three stamps of an alert, as the broker sent them: FITS bytes, gzipped (ZTF) or not (Rubin)."""

    science: bytes | None
    template: bytes | None
    difference: bytes | None

    @property
    def any(self) -> bool:
        return any((self.science, self.template, self.difference))


@dataclass(frozen=True)
class Candidate:
    """One broker alert, as far as the counterpart search is concerned. Missing values are ``None``: brokers and
    schema versions differ in what they carry, and none of that is an error.

    ``known_variable`` is the broker's own evidence that the source is a catalogued star, variable or AGN
    (the ANTARES GW filter's cut); ``None`` when the broker gives no such evidence.
    """

    broker: str
    object_id: str
    alert_id: str
    ra_deg: float | None  # None: Rubin solar-system alerts have no object position
    dec_deg: float | None
    mjd: float  # when this detection was made (TAI/UTC difference ignored: 37 s)
    band: str | None = None
    mag: float | None = None  # AB
    flux_njy: float | None = None
    reliability: float | None = None  # real-bogus score, 0..1
    solar_system: bool = False
    known_variable: bool | None = None
    first_mjd: float | None = None  # first detection of the object, when the alert carries history
    host_distance_mpc: float | None = None
    host_redshift: float | None = None
    url: str | None = None
    detailed: bool = False  # True when the whole alert was read (history, cross-matches)
    photometry: tuple[Point, ...] = ()  # the light curve the alert carries (read for evidence only)
    cutouts: Cutouts | None = None
    scores: tuple[tuple[str, float], ...] = ()  # the broker's own classifier scores, as given
    event_ids: tuple[str, ...] = ()  # the events the broker itself matched it to (BOOM); empty: any event

    @property
    def has_position(self) -> bool:
        return self.ra_deg is not None and self.dec_deg is not None
