"""Facilities are data: sites, instruments, observing limits and how plans are submitted.

Built in: LCO (its network) and ZTF (a survey camera with a fixed field grid),
from TOML files in ``bot/facilities/``. Teams add their own telescopes as
``[[facilities]]`` tables of the same shape in GWBOT_CONFIG, without code.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np

from bot.config import ConfigError, PlanSettings
from bot.plans.errors import PlanError


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    lat_deg: float
    lon_deg: float
    elevation_m: float = 0.0


@dataclass(frozen=True)
class Instrument:
    name: str
    telescope_class: str
    fov_deg: tuple[float, float]
    filters: tuple[str, ...]
    default_filters: tuple[str, ...]
    sites: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    readout_s: float = 0.0
    setup_s: float = 0.0
    simultaneous: bool = False  # all filters in one exposure (e.g. MuSCAT's four channels)
    readout_mode: str | None = None  # sent with every instrument configuration (LCO: required without a default)
    telescopes: dict[str, int] = field(default_factory=dict)  # site -> telescopes carrying it (default 1)
    ccd_layout: str | None = None  # a file in bot/plans/data: each CCD's measured corners (EW, NS degrees)
    treasuremap_instrument_id: int | None = None  # set: approved plans are shared with Treasure Map
    typical_depth_ab: float | None = None  # 5-sigma AB depth in ``depth_exposure_s`` (an estimate)
    depth_exposure_s: float = 300.0

    def depth_ab(self, exposure_s: float) -> float | None:
        """The typical depth scaled to an exposure, background-limited (2.5 log10 of the square root of time)."""
        if self.typical_depth_ab is None:
            return None
        return self.typical_depth_ab + 1.25 * math.log10(max(exposure_s, 1.0) / self.depth_exposure_s)

    def check_filters(self, filters: tuple[str, ...]) -> None:
        """PlanError naming the filters this instrument does not have."""
        unknown = [f for f in filters if f not in self.filters]
        if unknown:
            raise PlanError(f"{self.name} has no filter {', '.join(unknown)}; it has {', '.join(self.filters)}")

    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The CCDs as (x0, x1, y0, y1) in the tangent plane about the pointing (degrees, x east, y north): each
        the rectangle through its measured corners (the mean of each side's two), or one box, the whole field, when
        the instrument has no CCD layout."""
        if not self.ccd_layout:
            w, h = self.fov_deg
            return [(-w / 2, w / 2, -h / 2, h / 2)]
        out = []
        for corners in ccd_corners(self.ccd_layout).values():
            x, y = np.sort(corners[:, 0]), np.sort(corners[:, 1])
            out.append((float(x[:2].mean()), float(x[2:].mean()), float(y[:2].mean()), float(y[2:].mean())))
        return out

    def exposures(self, filters: tuple[str, ...]) -> int:
        """Exposures per field for these filters."""
        return 1 if self.simultaneous else len(filters)


@dataclass(frozen=True)
class Limits:
    sun_altitude_max_deg: float = -12.0
    airmass_max: float = 2.0
    moon_separation_min_deg: float = 30.0


@dataclass(frozen=True)
class Facility:
    name: str
    title: str
    sites: tuple[Site, ...]
    instruments: tuple[Instrument, ...]
    default_instrument: str
    limits: Limits = field(default_factory=Limits)
    submit: str = "none"  # "lco" or "none"
    field_list: str | None = None  # a file in bot/plans/data: the facility's own fixed fields (ID RA Dec)
    acknowledgement: str = ""  # the closing line a GCN Circular of its observations carries

    def fields(self) -> FieldList | None:
        """The facility's fixed fields, when it observes on a grid of its own."""
        return _field_list(self.field_list) if self.field_list else None

    def instrument(self, name: str | None) -> Instrument:
        """An instrument by name or alias (case-insensitive); the default when None."""
        wanted = (name or self.default_instrument).lower()
        for inst in self.instruments:
            if wanted == inst.name.lower() or wanted in (a.lower() for a in inst.aliases):
                return inst
        names = ", ".join(i.name for i in self.instruments)
        raise PlanError(f"{self.name} has no instrument {name!r}; it has {names}")

    def sites_for(self, instrument: Instrument) -> tuple[Site, ...]:
        return tuple(s for s in self.sites if s.code in instrument.sites)


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _instrument(doc: dict[str, Any], sites: tuple[Site, ...]) -> Instrument:
    fov = _tuple(doc["fov_deg"])
    filters = _tuple(doc.get("filters", ()))
    return Instrument(**{
        **doc,
        "fov_deg": (float(fov[0]), float(fov[-1])),  # one number: a square field
        "filters": filters,
        "default_filters": _tuple(doc.get("default_filters", filters[:1])),
        "sites": _tuple(doc.get("sites", [s.code for s in sites])),
        "aliases": _tuple(doc.get("aliases", ())),
        "telescopes": {str(k): int(v) for k, v in doc.get("telescopes", {}).items()},
    })


def from_toml(doc: dict[str, Any], where: str) -> Facility:
    try:
        sites = tuple(Site(**s) for s in doc["sites"])
        instruments = tuple(_instrument(i, sites) for i in doc["instruments"])
        facility = Facility(
            name=str(doc["name"]).lower(), title=doc.get("title", doc["name"]), sites=sites, instruments=instruments,
            default_instrument=doc.get("default_instrument", instruments[0].name),
            limits=Limits(**doc.get("limits", {})), submit=doc.get("submit", "none"),
            field_list=doc.get("field_list"), acknowledgement=str(doc.get("acknowledgement", "")))
    except (KeyError, TypeError, IndexError) as exc:
        raise ConfigError(f"{where}: facility is incomplete or has unknown keys ({exc})") from exc
    try:
        facility.instrument(None)  # the default instrument must exist
    except PlanError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if facility.submit not in ("lco", "none"):
        raise ConfigError(f"{where}: submit must be 'lco' or 'none', not {facility.submit!r}")
    return facility


@dataclass(frozen=True)
class FieldList:
    """A facility's fixed fields: IDs and centres (degrees)."""

    ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray


@functools.lru_cache(maxsize=8)
def _field_list(name: str) -> FieldList:
    text = (resources.files("bot.plans") / "data" / name).read_text()
    rows = np.array([line.split()[:3] for line in text.splitlines() if line.strip() and not line.startswith("#")],
                    dtype=float)
    return FieldList(rows[:, 0].astype(int), rows[:, 1], rows[:, 2])


@functools.lru_cache(maxsize=4)
def ccd_corners(name: str) -> dict[int, np.ndarray]:
    """A CCD layout file (rows EW, NS, CCD; ``#`` comments): each CCD's corners as [4, 2] (east, north) degrees.
    EW is read with its sign flipped, as ztffields reads ZTF's table."""
    text = (resources.files("bot.plans") / "data" / name).read_text()
    out: dict[int, list[tuple[float, float]]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            ew, ns, ccd = line.split(",")
            out.setdefault(int(ccd), []).append((-float(ew), float(ns)))
    return {ccd: np.array(corners) for ccd, corners in sorted(out.items())}


def builtin() -> dict[str, Facility]:
    folder = resources.files("bot.plans") / "data"
    out = {}
    for name in ("lco", "ztf"):
        facility = from_toml(tomllib.loads((folder / f"{name}.toml").read_text()), f"built-in {name}")
        out[facility.name] = facility
    return out


def load(config_doc: dict[str, Any] | None = None) -> dict[str, Facility]:
    """Built-in facilities plus the team's ``[[facilities]]`` from GWBOT_CONFIG (same name replaces)."""
    facilities = builtin()
    for i, doc in enumerate((config_doc or {}).get("facilities", [])):
        facility = from_toml(doc, f"GWBOT_CONFIG [[facilities]] {i + 1}")
        facilities[facility.name] = facility
    return facilities


def lookup(config_doc: dict[str, Any] | None, name: str) -> Facility:
    """One facility by name (built-in or the team's), or a PlanError listing the known ones."""
    facilities = load(config_doc)
    facility = facilities.get(name.lower())
    if facility is None:
        raise PlanError(f"unknown facility {name!r}; known: {', '.join(sorted(facilities))}")
    return facility


def facility_for(plans: PlanSettings, name: str) -> Facility:
    """One facility by name, among the built-in ones and the team's ``[[facilities]]``."""
    return lookup({"facilities": list(plans.facility_tables)}, name)


def with_instruments(facility: Facility, instruments: list[Instrument]) -> Facility:
    """The same facility with its instrument list replaced (e.g. refreshed from LCO's API)."""
    return replace(facility, instruments=tuple(instruments))
