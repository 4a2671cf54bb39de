"""What people type after ``/gw``, parsed into commands (pure: no Slack, no store)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.coords import CoordinateError, parse_dec, parse_distance, parse_ra, parse_time
from bot.ingest.gcn import SUPEREVENT_RE
from bot.plans.request import PlanRequest
from bot.vetting.states import Status

USAGE = {
    "help": "/gw help",
    "list": "/gw list [N]   e.g. /gw list 5",
    "info": "/gw info S230918aq",
    "skymap": "/gw skymap S230918aq",
    "check": "/gw check S230918aq RA DEC [DISTANCE_MPC] [TIME]   e.g. /gw check S230918aq 197.45 -23.38 40"
             " 2023-09-19T03:00:00Z",
    "join": "/gw join S230918aq",
    "status": "/gw status",
    "plan": "/gw plan S230918aq lco [instrument] [--filters gp,rp] [--exposure 300] [--fields 20] [--hours 24]"
            " [--revisit gp] [--revisit-gap 30]"
            " [--galaxies] [--map combined] [--ignore-others]",
    "candidates": "/gw candidates S230918aq [N] [--broker NAME] [--cl 0.5] [--status interesting|rejected|new|"
                  "follow_up] [--summary]",
    "coverage": "/gw coverage S230918aq",
    "rules": "/gw rules [S230918aq]",
    "circular": "/gw circular S230918aq [--rejected]",
    "visibility": "/gw visibility S230918aq lco [instrument]",
}
EVENT_ID_RE = re.compile(rf"^{SUPEREVENT_RE.pattern}$", re.IGNORECASE)
MAX_LIST = 50
MAX_CANDIDATES = 200


class UsageError(ValueError):
    """A command typed wrong; the message says what was wrong and how to type it."""


@dataclass(frozen=True)
class Transient:
    """A position (and perhaps a distance and a time) to check against an event's map."""

    ra: float
    dec: float
    distance: float | None = None
    time: datetime | None = None
    label: str = ""


def parse_plan(args: list[str] | tuple[str, ...]) -> PlanRequest:
    """FACILITY [instrument] [--filters a,b] [--exposure S] [--fields N] [--hours H] [--revisit F] [--revisit-gap M]."""
    args = list(args)
    if not args or args[0].startswith("--"):
        raise UsageError(f"Which facility?\nUsage: {USAGE['plan']}")
    values: dict = {"facility": args.pop(0).lower()}
    if args and not args[0].startswith("--"):
        values["instrument"] = args.pop(0)
    options = {"--filters": ("filters", str), "--exposure": ("exposure_s", float), "--fields": ("fields", int),
               "--hours": ("hours", float), "--revisit": ("revisit", str), "--revisit-gap": ("revisit_gap_min", float)}
    while args:
        flag = args.pop(0)
        if flag in ("--galaxies", "--ignore-others"):
            values[flag[2:].replace("-", "_")] = True
            continue
        if flag == "--map":
            choice = args.pop(0).lower() if args else ""
            if choice not in ("gw", "combined"):
                raise UsageError(f"--map takes gw or combined\nUsage: {USAGE['plan']}")
            values["map"] = choice
            continue
        if flag not in options or not args:
            raise UsageError(f"unexpected {flag!r}\nUsage: {USAGE['plan']}")
        key, kind = options[flag]
        raw = args.pop(0)
        value: Any
        try:
            value = tuple(f for f in raw.split(",") if f) if key == "filters" else kind(raw)
        except ValueError:
            raise UsageError(f"{flag} takes a number, not {raw!r}\nUsage: {USAGE['plan']}") from None
        ranges = {"exposure_s": (0, 3600), "fields": (0, 500), "hours": (0, 168), "revisit_gap_min": (5, 720)}
        if key in ranges and not ranges[key][0] < value <= ranges[key][1]:
            raise UsageError(f"{flag} {raw} is out of range\nUsage: {USAGE['plan']}")
        values[key] = value
    return PlanRequest(**values)


@dataclass(frozen=True)
class CandidateQuery:
    """``/gw candidates``: how many, from which broker, inside which credible level, in which vetting state; or
    the scanning summary."""

    count: int = 20
    broker: str | None = None
    max_cl: float | None = None
    status: Status | None = None
    summary: bool = False


def parse_candidate_query(args: list[str] | tuple[str, ...]) -> CandidateQuery:
    args = list(args)
    count, broker, max_cl, status, summary = 20, None, None, None, False
    while args:
        token = args.pop(0)
        if token.isdigit() and 0 < int(token) <= MAX_CANDIDATES:
            count = int(token)
        elif token == "--broker" and args:
            broker = args.pop(0)
        elif token == "--cl" and args:
            try:
                max_cl = float(args.pop(0))
            except ValueError:
                max_cl = -1.0
            if not 0 < max_cl <= 1:
                raise UsageError(f"--cl takes a credible level between 0 and 1\nUsage: {USAGE['candidates']}")
        elif token == "--status" and args:
            word = args.pop(0).lower().replace("-", "_")
            try:
                status = Status(word)
            except ValueError:
                raise UsageError(f"--status is one of {', '.join(s.value for s in Status)}\n"
                                 f"Usage: {USAGE['candidates']}") from None
        elif token == "--summary":
            summary = True
        else:
            raise UsageError(f"unexpected {token!r}\nUsage: {USAGE['candidates']}")
    return CandidateQuery(count, broker, max_cl, status, summary)


@dataclass(frozen=True)
class Command:
    name: str
    event_id: str | None = None
    count: int = 10
    candidates: tuple[Transient, ...] = field(default_factory=tuple)
    rest: tuple[str, ...] = ()


def _event_id(token: str) -> str | None:
    if EVENT_ID_RE.match(token):
        return token[0].upper() + token[1:].lower() if token[:2].upper() != "MS" else "MS" + token[2:].lower()
    return None


def _looks_like_time(token: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", token))


def parse_candidate(tokens: list[str], label: str = "") -> Transient:
    """RA DEC [DISTANCE] [TIME] in any of the accepted notations."""
    if len(tokens) < 2:
        raise UsageError(f"a candidate needs RA and Dec, got {' '.join(tokens)!r}\nUsage: {USAGE['check']}")
    try:
        ra, dec = parse_ra(tokens[0]), parse_dec(tokens[1])
        distance = when = None
        for token in tokens[2:]:
            if _looks_like_time(token):
                when = parse_time(token)
            elif distance is None:
                distance = parse_distance(token)
            else:
                raise UsageError(f"unexpected {token!r} after the distance\nUsage: {USAGE['check']}")
    except CoordinateError as exc:
        raise UsageError(f"{exc}\nUsage: {USAGE['check']}") from None
    return Transient(ra, dec, distance, when, label or " ".join(tokens))


def parse(text: str) -> Command:
    """Parse the text of a /gw command (lines after the first are more candidates for check)."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return Command("help")
    tokens = lines[0].replace(",", " ").split()
    name = tokens[0].lower()
    args = tokens[1:]
    if name not in USAGE:
        raise UsageError(f"unknown command {tokens[0]!r}. Try /gw help")
    if name in ("help", "status"):
        return Command(name)
    if name == "list":
        if not args:
            return Command("list")
        if len(args) > 1 or not args[0].isdigit() or not 0 < int(args[0]) <= MAX_LIST:
            raise UsageError(f"list takes a number from 1 to {MAX_LIST}\nUsage: {USAGE['list']}")
        return Command("list", count=int(args[0]))
    event_id = _event_id(args[0]) if args else None
    if event_id:
        args = args[1:]
    elif args and re.match(r"^M?S\d", args[0], re.IGNORECASE) and not re.match(r"^[+-]?[\d.:]+$", args[0]):
        raise UsageError(f"{args[0]!r} is not a superevent ID like S230918aq\nUsage: {USAGE[name]}")
    if name == "check":
        candidates = []
        if args:
            candidates.append(parse_candidate(args))
        for line in lines[1:]:
            candidates.append(parse_candidate(line.replace(",", " ").split(), label=line))
        return Command("check", event_id, candidates=tuple(candidates))
    if name == "visibility":
        if not 1 <= len(args) <= 2:
            raise UsageError(f"name a facility\nUsage: {USAGE['visibility']}")
        return Command(name, event_id, rest=tuple(args))
    if name in ("plan", "candidates"):
        (parse_plan if name == "plan" else parse_candidate_query)(args)  # say what is wrong now, before any work
        return Command(name, event_id, rest=tuple(args))
    if name == "circular" and args in (["--rejected"], []):
        return Command(name, event_id, rest=tuple(args))
    if args:
        raise UsageError(f"unexpected {' '.join(args)!r}\nUsage: {USAGE[name]}")
    return Command(name, event_id)


_COLUMNS = {
    "ra": ("ra", "ra_deg", "raj2000", "ra (deg)", "right_ascension"),
    "dec": ("dec", "dec_deg", "dej2000", "decj2000", "dec (deg)", "declination"),
    "distance": ("distance", "dist", "distance_mpc", "dist_mpc", "d_l", "dl"),
    "time": ("time", "date", "obs_time", "discovery_time", "utc", "isot"),
    "name": ("name", "id", "object", "objectid", "candidate", "label"),
}


def parse_csv(data: bytes, limit: int = 100_000) -> list[Transient]:
    """Candidates from a CSV: columns named ra/dec[/distance][/time][/name], or RA,DEC,... without a header."""
    text = data.decode("utf-8-sig", errors="replace")
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise UsageError("the CSV file is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    index = {key: next((header.index(n) for n in names if n in header), None) for key, names in _COLUMNS.items()}
    has_header = index["ra"] is not None and index["dec"] is not None
    if has_header:
        rows = rows[1:]
    else:
        index = {"ra": 0, "dec": 1, "distance": 2 if len(rows[0]) > 2 else None,
                 "time": 3 if len(rows[0]) > 3 else None, "name": None}
    if len(rows) > limit:
        raise UsageError(f"the CSV has {len(rows):,} rows; at most {limit:,} per check")
    out = []
    for number, row in enumerate(rows, 2 if has_header else 1):
        cells = {key: row[i].strip() if i is not None and i < len(row) else "" for key, i in index.items()}
        tokens = [cells["ra"], cells["dec"]] + [v for v in (cells["distance"], cells["time"]) if v]
        try:
            out.append(parse_candidate(tokens, label=cells["name"] or f"row {number}"))
        except UsageError as exc:
            raise UsageError(f"CSV row {number}: {str(exc).splitlines()[0]}") from None
    return out
