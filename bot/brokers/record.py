"""The normalized candidate record every broker format is decoded into."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["JD_MJD", "MJD_UNIX_EPOCH", "Candidate", "DecodeError", "Format", "finite", "mjd_to_unix", "unix_to_mjd"]

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


class DecodeError(ValueError):
    """A message that is not what its topic's format says: counted, reported, committed, skipped."""


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

    @property
    def has_position(self) -> bool:
        return self.ra_deg is not None and self.dec_deg is not None
