"""Numbers as astronomers write them, shared by the CLI, pictures and Slack messages."""

from __future__ import annotations

import math
from datetime import UTC, datetime

SECONDS_PER_YEAR = 365.25 * 86400


def area(deg2: float) -> str:
    """'31 deg²', '8.9 deg²', '9,574 deg²', '0.52 deg²', '0.0031 deg²'."""
    if deg2 < 1:
        return f"{deg2:.2g} deg²"
    if deg2 < 10:
        return f"{deg2:.1f} deg²"
    return f"{deg2:,.0f} deg²"


def distance(mean: float | None, std: float | None) -> str:
    """'40 ± 8 Mpc' (or 'no distance')."""
    if mean is None:
        return "no distance"
    return f"{mean:,.0f} ± {std:,.0f} Mpc" if std is not None else f"{mean:,.0f} Mpc"


def far_per_year(far_hz: float) -> str:
    """A false-alarm rate in Hz as '1 per 3.5e5 years' (or '12 per year')."""
    if far_hz <= 0:
        return "0 per year"
    per_year = far_hz * SECONDS_PER_YEAR
    if per_year >= 1:
        return f"{per_year:.3g} per year" if per_year < 1000 else f"{per_year:,.0f} per year"
    years = 1.0 / per_year
    if years < 1e6:
        return f"1 per {years:,.3g} years" if years < 1000 else f"1 per {years:,.0f} years"
    mantissa, exponent = f"{years:.1e}".split("e")
    return f"1 per {mantissa}e{int(exponent)} years"


def ra_hms(ra_deg: float) -> str:
    hours = (ra_deg % 360.0) / 15.0
    h = int(hours)
    m = int((hours - h) * 60)
    s = ((hours - h) * 60 - m) * 60
    return f"{h:02d}:{m:02d}:{s:04.1f}"


def dec_dms(dec_deg: float) -> str:
    sign = "-" if dec_deg < 0 else "+"
    d = abs(dec_deg)
    deg = int(d)
    m = int((d - deg) * 60)
    s = ((d - deg) * 60 - m) * 60
    return f"{sign}{deg:02d}:{m:02d}:{s:02.0f}"


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime ('Z' allowed; naive means UTC)."""
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def time_since(then: datetime, now: datetime) -> str:
    """'42 s ago', '3 min ago', '5.2 h ago', '3.1 d ago'."""
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return "in the future"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    if seconds < 365.25 * 86400:
        return f"{seconds / 86400:.1f} d ago"
    return f"{seconds / SECONDS_PER_YEAR:.1f} yr ago"


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
