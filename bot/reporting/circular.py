"""A GCN Circular's text from plain records: science in, words out, nothing read from anywhere.

GCN's rules (nasa-gcn/gcn.nasa.gov @ 11d32bd4; gcn-schema ``gcn/circulars.schema.json``): the subject starts with
the event ("LIGO/Virgo/KAGRA S230917af: ...") and holds a known keyword; one event per circular; plain text or
Markdown, no LaTeX; about 60 lines at most. The body follows the usual optical follow-up circular (and SkyPortal's
``add_gcn_summary`` order): authors and "on behalf of", what was observed (when, relative to the merger, filters,
the enclosed probability of a named map, depth), the candidates, acknowledgements.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot import formatting as fmt

__all__ = ["MAX_LINES", "Campaign", "Draft", "Observation", "Reported", "median_range", "write"]

MAX_LINES = 60
TABLE_ROWS = 10  # candidates listed in the body; more go to the attached CSV


@dataclass(frozen=True)
class Observation:
    """What one facility's instrument completed for the event (all its plans together)."""

    facility: str  # "Las Cumbres Observatory"
    instrument: str
    fields: int
    filters: tuple[str, ...]
    exposure_s: float
    start: float  # epoch seconds of the first and last completed field
    end: float
    probability: float  # of the union of the completed fields' footprints, on the named map
    share90: float  # of the 90% region's area
    limits: dict[str, tuple[float, float, float]]  # filter -> (median, min, max) 5-sigma AB
    estimated: bool  # the limits are the instrument's typical depth, not measured
    acknowledgement: str = ""


@dataclass(frozen=True)
class Reported:
    """A candidate in the circular's table."""

    name: str
    ra: float
    dec: float
    discovered: float  # epoch seconds
    mag: float | None
    err: float | None
    band: str | None
    broker: str
    note: str


@dataclass(frozen=True)
class Campaign:
    """Everything a circular says, gathered by :mod:`bot.reporting.campaign`."""

    event_id: str
    merger: float | None  # epoch seconds
    map_name: str  # "Bilby.multiorder.fits (INITIAL alert, 2023-05-18 15:33 UTC)"
    observations: list[Observation]
    interesting: list[Reported]
    rejected: list[Reported] = field(default_factory=list)
    total_probability: float | None = None  # of all our completed fields together
    total_share90: float | None = None


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str
    csv: str | None  # the candidates table whole, when the body summarises it


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _after(t: float, merger: float | None) -> str:
    return "" if merger is None else f"{(t - merger) / 3600:.1f}"


def _limits(o: Observation) -> str:
    parts = []
    for name, (median, lo, hi) in sorted(o.limits.items()):
        spread = "" if abs(hi - lo) < 0.05 else f" ({lo:.1f}-{hi:.1f})"
        parts.append(f"{name} {median:.1f}{spread}")
    said = ", ".join(parts)
    return said + (" (estimated from the exposure time; no limits were measured on the frames)" if o.estimated else "")


def _observation(o: Observation, c: Campaign) -> list[str]:
    when = f"{_utc(o.start)} to {_utc(o.end)} UTC"
    if c.merger is not None:
        when += f" ({_after(o.start, c.merger)} to {_after(o.end, c.merger)} h after the merger)"
    return [f"- {o.facility} {o.instrument}: {o.fields} field{'s' if o.fields != 1 else ''} in "
            f"{', '.join(o.filters)} ({o.exposure_s:.0f} s each), {when}. They cover {100 * o.probability:.1f}% of "
            f"the probability of {c.map_name} and {100 * o.share90:.1f}% of its 90% credible region. "
            f"5-sigma limiting magnitudes (AB, median and range): {_limits(o)}."]


def _row(r: Reported, merger: float | None) -> list[str]:
    mag = "" if r.mag is None else f"{r.mag:.2f}" + ("" if r.err is None else f" +/- {r.err:.2f}")
    return [r.name, fmt.ra_hms(r.ra), fmt.dec_dms(r.dec), _utc(r.discovered) + (
        f" ({_after(r.discovered, merger)} h)" if merger is not None else ""), mag, r.band or "", r.broker, r.note]


HEADER = ["Name", "RA (J2000)", "Dec (J2000)", "Discovered (UTC)", "Mag (AB)", "Filter", "Broker", "Note"]


def _table(rows: list[list[str]]) -> list[str]:
    """A Markdown table: GCN accepts Markdown circulars."""
    clean = [[cell.replace("|", "/") for cell in row] for row in rows]
    return ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER), *["| " + " | ".join(r) + " |" for r in clean]]


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def write(c: Campaign, authors: str, on_behalf: str = "") -> Draft:
    """The circular: subject, body (at most :data:`MAX_LINES` lines: long tables summarised, whole in ``csv``)."""
    facilities = sorted({o.facility for o in c.observations})
    what = f"{' and '.join(facilities)} optical follow-up" if facilities else "optical follow-up"
    subject = f"LIGO/Virgo/KAGRA {c.event_id}: {what}" + \
        (" and candidates" if c.interesting else "")
    lines = [f"{authors or '(authors: set GWBOT_CIRCULAR_AUTHORS)'}"
             + (f" report on behalf of {on_behalf}:" if on_behalf else " report:"), ""]
    if c.observations:
        lines += [f"We observed the localization of the gravitational-wave candidate {c.event_id} "
                  f"(merger {_utc(c.merger) + ' UTC' if c.merger is not None else 'time unknown'}):", ""]
        for o in c.observations:
            lines += _observation(o, c)
        if len(c.observations) > 1 and c.total_probability is not None:
            lines += [f"Together these fields cover {100 * c.total_probability:.1f}% of the probability and "
                      f"{100 * (c.total_share90 or 0):.1f}% of the 90% region."]
        lines.append("")
    else:
        lines += [f"We have not completed any observation of {c.event_id} yet.", ""]
    rows = [_row(r, c.merger) for r in c.interesting]
    attached = None
    if rows:
        lines.append(f"We consider {len(rows)} candidate{'s' if len(rows) != 1 else ''} of interest "
                     "(from the alert brokers' streams, inside the credible region):")
        lines += _table(rows[:TABLE_ROWS])
        if len(rows) > TABLE_ROWS:
            lines.append(f"... and {len(rows) - TABLE_ROWS} more, listed in the attached table.")
            attached = _csv(rows)
        lines.append("")
    elif c.observations:
        lines += ["We found no candidate counterpart we consider of interest.", ""]
    if c.rejected:
        named = ", ".join(f"{r.name} ({r.note})" for r in c.rejected[:TABLE_ROWS])
        more = f" and {len(c.rejected) - TABLE_ROWS} more" if len(c.rejected) > TABLE_ROWS else ""
        lines += [f"We ruled out {len(c.rejected)} candidate{'s' if len(c.rejected) != 1 else ''}: {named}{more}.",
                  ""]
    lines.append("Observations by other teams (Treasure Map, GCN) are not included in these numbers.")
    thanks = sorted({o.acknowledgement for o in c.observations if o.acknowledgement})
    if thanks:
        lines += ["", *thanks]
    if len(lines) > MAX_LINES:  # never: every section above is bounded, but GCN's limit is checked, not assumed
        raise ValueError(f"the circular has {len(lines)} lines, over GCN's {MAX_LINES}")
    return Draft(subject, "\n".join(lines).rstrip() + "\n", attached)


def median_range(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)
