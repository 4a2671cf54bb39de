"""What an event's campaign came to, gathered from the store: each facility's completed observations with the
probability their fields hold on the latest map, the candidates the team found interesting (or ruled out), and
the picture of it all. The circular's words are :mod:`bot.reporting.circular`'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from bot.brokers.record import mjd_to_unix
from bot.candidates.evidence import points_of
from bot.config import Settings
from bot.coordination.coverage import CoverageBook, Seen, build
from bot.coordination.footprint import Region, outline
from bot.coordination.treasuremap import Status as PointingStatus
from bot.events.facts import EventFacts
from bot.events.maps import MapCache
from bot.ingest.gwalert import epoch
from bot.plans import facilities as fac
from bot.plans.errors import PlanError
from bot.plans.observed import Observed, observed_fields
from bot.plans.planner import sample_points
from bot.skymap.prepared import PreparedMap
from bot.skymap.render import Labels, Outline, render_png
from bot.store.candidates import CandidateRecord
from bot.store.events import Event, SkymapVersion
from bot.store.plans import PlanRecord
from bot.vetting import KilonovaScore, Status

from .circular import Campaign, Observation, Reported, median_range

__all__ = ["Gathered", "gather", "map_name"]

SAMPLE_SPACING_DEG = 0.05
#: GraceDB's file names for the pipelines' maps, by the FITS CREATOR card
FILE_NAMES = {"bayestar": "bayestar.multiorder.fits", "ligo-skymap-from-samples": "Bilby.multiorder.fits"}
OURS, OTHERS = "#d62728", "#7f7f7f"


@dataclass(frozen=True)
class Gathered:
    campaign: Campaign
    picture: bytes


def map_name(version: SkymapVersion, prepared: PreparedMap) -> str:
    """GraceDB's file name where the creator says it, with the alert that carried it (the ",N" version GraceDB
    gives the file is not in the alert)."""
    creator = str(prepared.skymap.meta.get("creator") or "").lower()
    name = next((n for key, n in FILE_NAMES.items() if creator.startswith(key)), "the sky map")
    when = datetime.fromtimestamp(version.created or version.received, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{name} ({version.alert_type} alert, {when})"


def _covered(prepared: PreparedMap, observed: list[Observed], boxes: list[np.ndarray]) -> Region:
    """The sky inside the fields' footprints (every CCD), as coverage rasterizes pointings."""
    seen = [Seen(0, 1, "ours", PointingStatus.COMPLETED, o.band, o.ra, o.dec, 0.0, o.time, True) for o in observed]
    coverage = build(prepared, seen, {1: boxes}, 0.0)
    region = Region.empty()
    for part in coverage.completed.values():
        region = region.union(part)
    return region


def _held(prepared: PreparedMap, region: Region, samples) -> tuple[float, float]:
    """(probability inside, share of the 90% region's area inside)."""
    ra, dec, prob, in90 = samples
    inside = region.contains(ra, dec)
    return float(prob[inside].sum()), float((inside & in90).sum()) / max(float(in90.sum()), 1.0)


def _samples(prepared: PreparedMap):
    ra, dec, prob = sample_points(prepared, SAMPLE_SPACING_DEG)
    rank = prepared.rank_of(np.deg2rad(ra), np.deg2rad(dec))
    level = np.where(rank >= 0, prepared.cum_prob[np.maximum(rank, 0)], 1.0)
    return ra, dec, prob, level <= 0.9


def _note(row: CandidateRecord) -> str:
    if row.status == Status.REJECTED:
        return row.status_reason or "not it"
    reasons = [r.words for r in KilonovaScore.from_json(row.kn_reasons).reasons if r.points > 0][:2]
    return "; ".join(reasons) or Status(row.status or Status.NEW).words


def _reported(session, row: CandidateRecord) -> Reported:
    detections = [p for p in points_of(session, row) if not p.limit]
    last = detections[-1] if detections else None
    return Reported(row.object_id, row.ra, row.dec, mjd_to_unix(row.first_mjd), last.mag if last else row.mag,
                    last.err if last else None, last.band if last else row.band, row.broker, _note(row))


def gather(store, settings: Settings, maps: MapCache, coverage: CoverageBook | None,
           observed_at: Callable[[str, str], float | None], event_id: str, with_rejected: bool = False) -> Gathered:
    """The campaign of an event, on its latest map (PlanError when it has none)."""
    latest = maps.latest(event_id)
    if latest is None:
        raise PlanError(f"{event_id} has no sky map yet.")
    version_id, prepared = latest
    with store.session() as s:
        event = s.get_one(Event, event_id)
        merger = epoch(EventFacts.from_json(event.facts).event_time)
        version = s.get_one(SkymapVersion, version_id)
        name = map_name(version, prepared)
        plans = list(s.scalars(select(PlanRecord).where(PlanRecord.event_id == event_id).order_by(PlanRecord.id)))
        rows = list(s.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event_id)))
        vetted = any((r.status or Status.NEW) != Status.NEW for r in rows)
        chosen = [r for r in rows if (r.status in (Status.INTERESTING, Status.FOLLOW_UP) if vetted else r.marked_by)]
        chosen.sort(key=lambda r: (-(r.kn_score or 0.0), r.credible_level))
        interesting = [_reported(s, r) for r in chosen]
        rejected = [_reported(s, r) for r in rows if r.status == Status.REJECTED] if with_rejected else []
    samples = _samples(prepared)
    groups: dict[tuple[str, str], list[tuple[PlanRecord, list[Observed]]]] = {}
    for plan in plans:
        done = observed_fields(store, settings, plan, observed_at)
        if done:
            key = (plan.facility, str((plan.summary or {}).get("instrument")))
            groups.setdefault(key, []).append((plan, done))
    observations, ours_outlines, union = [], [], Region.empty()
    for (facility_name, instrument_name), parts in groups.items():
        try:
            facility = fac.facility_for(settings.plans, facility_name)
            inst = facility.instrument(instrument_name)
        except PlanError:
            continue
        boxes = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) for x0, x1, y0, y1 in inst.boxes()]
        done = [o for _, observed in parts for o in observed]
        region = _covered(prepared, done, boxes)
        union = union.union(region)
        probability, share90 = _held(prepared, region, samples)
        limits: dict[str, list[float]] = {}
        for o in done:
            if o.depth is not None:
                limits.setdefault(o.filter or o.band, []).append(o.depth)
        filters = tuple(dict.fromkeys(o.filter or o.band for o in done))
        exposure = float((parts[0][0].summary or {}).get("exposure_s", 0))
        fields = len({(plan.id, o.rank) for plan, observed in parts for o in observed})
        observations.append(Observation(facility.title, inst.name, fields, filters, exposure,
                                        min(o.time for o in done), max(o.time for o in done), probability, share90,
                                        {k: median_range(v) for k, v in limits.items()},
                                        any(o.depth_estimated for o in done), facility.acknowledgement))
        seen_fields = {(o.ra, o.dec) for o in done}
        ours_outlines += [Outline(np.deg2rad(c[:, 0]), np.deg2rad(c[:, 1]), OURS)
                          for ra, dec in seen_fields for box in boxes for c in [outline(box, ra, dec, 0.0)]]
    total = _held(prepared, union, samples) if observations else (None, None)
    campaign = Campaign(event_id, merger, name, observations, interesting, rejected, total[0], total[1])
    others: list[Outline] = []
    if coverage is not None:
        pointings, footprints, _ = coverage.seen(event_id)
        others = [Outline(np.deg2rad(c[:, 0]), np.deg2rad(c[:, 1]), OTHERS, True) for p in pointings if not p.ours
                  for polygon in footprints.get(p.instrument_id, []) for c in [outline(polygon, p.ra, p.dec,
                                                                                        p.pos_angle)]]
    subtitle = (f"our fields: {100 * total[0]:.1f}% of the probability" if total[0] is not None
                else "no completed observations yet") + f"  ·  {len(chosen)} candidate{'s' if len(chosen) != 1 else ''}"
    picture = render_png(prepared, Labels(f"{event_id} · our campaign", subtitle), footprints=others + ours_outlines,
                         legend={"ours (observed)": OURS, "others (Treasure Map)": OTHERS},
                         markers=[(r.ra, r.dec) for r in chosen])
    return Gathered(campaign, picture)
