"""The sky already covered for an event: everyone's pointings on Treasure Map (ours included), read for each
active event on a schedule and whenever a new sky map arrives, turned into covered regions by band family, and
weighed into plans so that a plan goes where no one has looked yet.

Completed pointings after the merger cover their footprint; planned ones count half (they may not happen);
pointings whose footprint misses the map's 99.9% region are left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.candidates.active import ActiveEvents
from bot.config import Settings
from bot.coordination.bands import Family, family_of
from bot.coordination.footprint import Region, covered_pixels, order_for
from bot.coordination.treasuremap import Status, TreasureMap, TreasureMapError
from bot.events.facts import EventFacts
from bot.events.maps import MapCache
from bot.ingest.gwalert import epoch
from bot.skymap import moc
from bot.skymap.prepared import PreparedMap
from bot.store import Store
from bot.store.coordination import CoverageRead, Footprint, SeenPointing, SharedPointing
from bot.store.events import Event

log = logging.getLogger(__name__)

__all__ = ["Coverage", "CoverageBook", "Drawn", "Ours", "Seen", "Summary", "build", "covered_by_family", "drawn",
           "summarize"]

FOOTPRINT_TTL_S = 7 * 86400.0
MAP_LEVEL = 0.999  # a pointing counts when its footprint reaches into this credible region
PLANNED_WEIGHT = 0.5


@dataclass(frozen=True)
class Seen:
    """A pointing as the coverage sees it."""

    tm_id: int
    instrument_id: int
    instrument: str
    status: Status
    band: str
    ra: float
    dec: float
    pos_angle: float | None
    time: float  # epoch seconds
    ours: bool = False


@dataclass(frozen=True)
class Ours:
    """Our own submitted fields as pointings (completed: we will observe them), with their footprints."""

    seen: list[Seen]
    footprints: dict[int, list[np.ndarray]]


@dataclass(frozen=True)
class Coverage:
    """Covered sky of one event on one map, by band family; ``counted``: the pointings in it."""

    completed: dict[Family, Region]
    planned: dict[Family, Region]
    counted: tuple[Seen, ...]
    footprints: dict[int, list[np.ndarray]] = field(default_factory=dict)

    def weight(self, family: Family | None, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
        """1 where no one has looked in a comparable band, 1/2 where someone plans to, 0 where someone did."""
        w = np.ones(np.shape(ra_deg))
        if family is None:
            return w
        planned, completed = self.planned.get(family), self.completed.get(family)
        if planned is not None:
            w[planned.contains(ra_deg, dec_deg)] = PLANNED_WEIGHT
        if completed is not None:
            w[completed.contains(ra_deg, dec_deg)] = 0.0
        return w


@dataclass(frozen=True)
class Summary:
    """What a plan message says about others' coverage."""

    completed_prob: float  # probability inside completed footprints in a comparable band
    planned_prob: float  # inside planned (not completed) footprints
    area90_fraction: float  # of the 90% region's area, completed
    n_pointings: int
    instruments: dict[str, int]  # instrument -> completed or planned pointings counted


def build(prepared: PreparedMap, seen: list[Seen], footprints: dict[int, list[np.ndarray]], merger: float
          ) -> Coverage:
    """Rasterize the pointings that count: after the merger, with a known footprint, reaching into the map."""
    completed: dict[Family, Region] = {}
    planned: dict[Family, Region] = {}
    counted: list[Seen] = []
    limit_rank = int(np.searchsorted(prepared.cum_prob, MAP_LEVEL)) + 1
    by_instrument: dict[int, list[Seen]] = {}
    for p in seen:
        if p.time >= merger and p.status is not Status.CANCELLED and footprints.get(p.instrument_id) \
                and family_of(p.band) is not None:
            by_instrument.setdefault(p.instrument_id, []).append(p)
    for instrument_id, pointings in by_instrument.items():
        polygons = footprints[instrument_id]
        order = order_for(polygons)
        which, ipix = covered_pixels(polygons, np.array([p.ra for p in pointings]),
                                     np.array([p.dec for p in pointings]),
                                     np.array([np.nan if p.pos_angle is None else p.pos_angle for p in pointings]),
                                     order)
        lon, lat = moc.nested_to_lonlat(order, ipix)
        rank = prepared.rank_of(lon, lat)
        meets = np.zeros(len(pointings), dtype=bool)
        meets[which[(rank >= 0) & (rank < limit_rank)]] = True
        by = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[by], np.arange(len(pointings) + 1))
        for i in np.flatnonzero(meets):
            p = pointings[i]
            family = family_of(p.band)
            if family is None:
                continue
            into = completed if p.status is Status.COMPLETED else planned
            into[family] = into.get(family, Region.empty()).union(
                Region.of_pixels(order, ipix[by[bounds[i]:bounds[i + 1]]]))
            counted.append(p)
    return Coverage(completed, planned, tuple(counted), footprints)


def summarize(prepared: PreparedMap, coverage: Coverage, family: Family | None,
              samples: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Summary:
    """Covered probability and 90% area on the map's sample points (RA, Dec, probability)."""
    ra, dec, prob = samples
    none = np.zeros(len(ra), dtype=bool)
    done = coverage.completed[family].contains(ra, dec) if family in coverage.completed else none
    later = coverage.planned[family].contains(ra, dec) & ~done if family in coverage.planned else none
    density = _density(prepared, ra, dec)
    in90 = density >= _density_at(prepared, 0.9)
    area90 = float(in90.sum()) or 1.0
    counted = [p for p in coverage.counted if family_of(p.band) == family]
    instruments: dict[str, int] = {}
    for p in counted:
        instruments[p.instrument] = instruments.get(p.instrument, 0) + 1
    return Summary(float(prob[done].sum()), float(prob[later].sum()), float((done & in90).sum()) / area90,
                   len(counted), dict(sorted(instruments.items(), key=lambda kv: -kv[1])))


def _density(prepared: PreparedMap, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    rank = prepared.rank_of(np.deg2rad(ra), np.deg2rad(dec))
    return np.where(rank >= 0, prepared.probdensity[np.maximum(rank, 0)], 0.0)


def _density_at(prepared: PreparedMap, level: float) -> float:
    """The density at the edge of the ``level`` credible region."""
    k = min(int(np.searchsorted(prepared.cum_prob, level)), len(prepared.probdensity) - 1)
    return float(prepared.probdensity[k])


class CoverageBook:
    """Reads pointings from Treasure Map into the store, and gives each plan the coverage of its map."""

    def __init__(self, store: Store, settings: Settings, maps: MapCache, client: TreasureMap | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.client = client or TreasureMap(settings.coordination.treasuremap_api_url)  # reading needs no token
        self.active = ActiveEvents(store, maps, settings.candidates.window_days, clock)
        self.clock = clock
        self._cache: dict[tuple[str, int], tuple[float, Coverage]] = {}

    def refresh_due(self) -> int:
        """Read every active event whose pointings are older than GWBOT_COVERAGE_SECONDS or whose map changed."""
        n = 0
        for target in self.active.targets(force=True):
            with self.store.session() as s:
                read = s.get(CoverageRead, target.event_id)
                due = read is None or read.map_version != target.map_version \
                    or self.clock() - read.tried_at >= self.settings.coordination.coverage_seconds
            if due:
                self.refresh(target.event_id, target.map_version)
                n += 1
        return n

    def refresh(self, event_id: str, map_version: int | None = None) -> int:
        """Read the event's pointings (and footprints not yet known); a failure is noted and tried next time."""
        problem = None
        try:
            pointings = self.client.pointings(event_id, (Status.PLANNED, Status.COMPLETED))
            self._footprints({p.instrument_id for p in pointings})
        except TreasureMapError as exc:
            log.warning("cannot read Treasure Map pointings of %s: %s", event_id, exc, extra={"event_id": event_id})
            pointings, problem = [], str(exc)[:500]
        try:
            self._store(event_id, map_version, pointings, problem)
        except IntegrityError:  # another replica stored the same read at the same moment: theirs stands
            log.info("pointings of %s were stored by another replica", event_id, extra={"event_id": event_id})
            return len(pointings)
        if problem is None:
            log.info("read %s Treasure Map pointings of %s", len(pointings), event_id, extra={"event_id": event_id})
        return len(pointings)

    def _store(self, event_id: str, map_version: int | None, pointings: list, problem: str | None) -> None:
        with self.store.session() as s:
            if problem is None:
                s.execute(delete(SeenPointing).where(SeenPointing.event_id == event_id))
                for p in pointings:
                    if p.id is None:
                        continue
                    s.add(SeenPointing(event_id=event_id, tm_id=p.id, instrument_id=p.instrument_id,
                                       status=p.status.value, band=p.band.name, ra=p.ra, dec=p.dec,
                                       pos_angle=p.pos_angle, time=p.time.timestamp(), depth=p.depth,
                                       depth_unit=p.depth_unit))
            read = s.get(CoverageRead, event_id) or CoverageRead(event_id=event_id)
            read.tried_at, read.map_version, read.problem = self.clock(), map_version, problem
            if problem is None:
                read.read_at = read.tried_at
            s.add(read)

    def _footprints(self, instrument_ids: set[int]) -> None:
        now = self.clock()
        with self.store.session() as s:
            fresh = {f.instrument_id for f in s.scalars(select(Footprint).where(
                Footprint.instrument_id.in_(instrument_ids), Footprint.fetched > now - FOOTPRINT_TTL_S))}
        missing = sorted(instrument_ids - fresh)
        if not missing:
            return
        names = self.client.instruments()
        for instrument_id in missing:
            polygons = self.client.footprint(instrument_id)
            with self.store.session() as s:
                s.merge(Footprint(instrument_id=instrument_id, name=names.get(instrument_id),
                                  polygons=[p.tolist() for p in polygons], fetched=now))

    def seen(self, event_id: str) -> tuple[list[Seen], dict[int, list[np.ndarray]], float | None]:
        """The stored pointings of the event, the footprints they need, and when they were read."""
        with self.store.session() as s:
            ours = {i for i in s.scalars(select(SharedPointing.tm_id).where(SharedPointing.event_id == event_id))
                    if i is not None}
            rows = list(s.scalars(select(SeenPointing).where(SeenPointing.event_id == event_id)))
            ids = {r.instrument_id for r in rows}
            prints = {f.instrument_id: f for f in s.scalars(select(Footprint).where(Footprint.instrument_id.in_(ids)))}
            read = s.get(CoverageRead, event_id)
            seen = [Seen(r.tm_id, r.instrument_id, (prints[r.instrument_id].name if r.instrument_id in prints else None)
                         or f"instrument {r.instrument_id}", Status(r.status), r.band, r.ra, r.dec, r.pos_angle,
                         r.time, r.tm_id in ours) for r in rows]
            footprints = {i: [np.asarray(p, float) for p in f.polygons] for i, f in prints.items()}
            return seen, footprints, read.read_at if read is not None else None

    def read_state(self, event_id: str) -> tuple[float | None, float | None, str | None]:
        """(when the event's pointings were last read, last tried, what went wrong then)."""
        with self.store.session() as s:
            read = s.get(CoverageRead, event_id)
            return (read.read_at, read.tried_at, read.problem) if read is not None else (None, None, None)

    def merger(self, event_id: str) -> float:
        """The event's time (epoch seconds): pointings before it do not count."""
        with self.store.session() as s:
            event = s.get(Event, event_id)
            seconds = epoch(EventFacts.from_json(event.facts).event_time) if event is not None else None
        return seconds if seconds is not None else 0.0

    def coverage(self, event_id: str, version: int, prepared: PreparedMap, merger: float | None = None,
                 ours: Ours | None = None) -> Coverage | None:
        """The event's coverage on this map (None when nothing was read and ``ours`` adds nothing); rasterized once
        per read and map. ``ours``: our own submitted fields, counted like others' pointings."""
        seen, footprints, read_at = self.seen(event_id)
        if read_at is None and not (ours and ours.seen):
            return None
        merger = self.merger(event_id) if merger is None else merger
        if ours and ours.seen:  # not cached: our plans change with every approval
            return build(prepared, seen + ours.seen, {**footprints, **ours.footprints}, merger)
        if read_at is None:
            return None
        cached = self._cache.get((event_id, version))
        if cached is not None and cached[0] == read_at:
            return cached[1]
        result = build(prepared, seen, footprints, merger)
        self._cache[(event_id, version)] = (read_at, result)
        return result


@dataclass(frozen=True)
class Drawn:
    """A counted pointing's CCDs on the sky, for pictures: [N, 2] (RA, Dec) degrees each."""

    pointing: Seen
    ccds: list[np.ndarray]


def drawn(coverage: Coverage) -> list[Drawn]:
    """Every counted pointing's CCD outlines, placed as Treasure Map places them."""
    from bot.coordination.footprint import outline

    return [Drawn(p, [outline(c, p.ra, p.dec, p.pos_angle) for c in coverage.footprints.get(p.instrument_id, [])])
            for p in coverage.counted]


def covered_by_family(coverage: Coverage, samples: tuple[np.ndarray, np.ndarray, np.ndarray]
                      ) -> dict[Family, tuple[float, float]]:
    """Per band family with pointings: (probability inside completed footprints, inside planned-only ones)."""
    ra, dec, prob = samples
    out = {}
    for family in sorted(set(coverage.completed) | set(coverage.planned)):
        done = coverage.completed[family].contains(ra, dec) if family in coverage.completed else np.zeros(len(ra), bool)
        later = coverage.planned[family].contains(ra, dec) & ~done if family in coverage.planned \
            else np.zeros(len(ra), bool)
        out[family] = (float(prob[done].sum()), float(prob[later].sum()))
    return out
