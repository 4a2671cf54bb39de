"""Parse what people type for positions and times: degrees or sexagesimal, ISO 8601."""

from __future__ import annotations

import re
from datetime import datetime

from bot.formatting import parse_utc

_SEXAGESIMAL = re.compile(
    r"^\s*([+-])?\s*(\d+(?:\.\d*)?)\s*[:hd°\s]\s*(\d+(?:\.\d*)?)\s*(?:[:m'′\s]\s*(\d+(?:\.\d*)?)\s*[s\"″]?)?\s*$",
    re.IGNORECASE,
)


class CoordinateError(ValueError):
    """A position or time that cannot be understood; the message says how to write it."""


def _sexagesimal(text: str) -> tuple[float, bool] | None:
    match = _SEXAGESIMAL.match(text)
    if not match:
        return None
    sign, a, b, c = match.groups()
    value = float(a) + float(b) / 60 + float(c or 0) / 3600
    if float(b) >= 60 or float(c or 0) >= 60:
        raise CoordinateError(f"{text!r}: minutes and seconds must be below 60")
    return (-value if sign == "-" else value), "h" in text.lower()


def _angle(text: str | float, name: str, hint: str, hours: bool) -> float:
    """Degrees from a number or sexagesimal text (hours when ``hours``, else degrees)."""
    if isinstance(text, (int, float)):
        return float(text)
    try:
        return float(text)
    except ValueError:
        parsed = _sexagesimal(text)
    if parsed is None or (parsed[1] and not hours):
        raise CoordinateError(f"{name} {text!r} is not understood: {hint}")
    return parsed[0] * (15.0 if hours else 1.0)


def parse_ra(text: str | float) -> float:
    """Right ascension in degrees from '197.45', '13:09:48.1' (hours) or '13h09m48.1s'."""
    value = _angle(text, "RA", "give degrees (197.45) or hours (13:09:48.1)", hours=True)
    if not 0.0 <= value <= 360.0:
        raise CoordinateError(f"RA {value:g} is outside 0–360 degrees")
    return value % 360.0


def parse_dec(text: str | float) -> float:
    """Declination in degrees from '-23.38' or '-23:22:53' / '-23d22m53s'."""
    value = _angle(text, "Dec", "give degrees (-23.38) or -23:22:53", hours=False)
    if not -90.0 <= value <= 90.0:
        raise CoordinateError(f"Dec {value:g} is outside -90..+90 degrees")
    return value


def parse_time(text: str) -> datetime:
    """A UTC time from ISO 8601 ('2023-05-18T14:00:00Z'); naive times are taken as UTC."""
    try:
        return parse_utc(text)
    except ValueError:
        raise CoordinateError(f"time {text!r} is not ISO 8601, e.g. 2023-05-18T14:00:00Z") from None


def parse_distance(text: str | float) -> float:
    """A positive luminosity distance in Mpc."""
    try:
        value = float(text)
    except ValueError:
        raise CoordinateError(f"distance {text!r} is not a number of Mpc") from None
    if not value > 0 or value != value or value == float("inf"):
        raise CoordinateError(f"distance {value:g} Mpc must be positive")
    return value
