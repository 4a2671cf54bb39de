"""What a plan's facility observed: its completed requests as fields, per band, with when and how deep. The one
reading of a plan's outcome that HERMES reports and GCN Circular drafts share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.config import Settings
from bot.coordination.bands import band_for
from bot.plans import facilities as fac
from bot.plans.build import visit_filters
from bot.store.coordination import SharedPointing
from bot.store.plans import PlanRecord

__all__ = ["COMPLETED", "Observed", "observed_fields"]

COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class Observed:
    """A field the facility observed, in one band."""

    name: str
    ra: float
    dec: float
    band: str
    time: float  # epoch seconds
    depth: float | None  # AB
    depth_estimated: bool
    rank: int = 0  # the field's rank in its plan
    filter: str = ""  # the facility's filter name


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def observed_fields(store, settings: Settings, plan: PlanRecord,
                    observed_at: Callable[[str, str], float | None]) -> list[Observed]:
    """The plan's completed fields (not planned, not expired): when each was observed (as shared with Treasure
    Map, else as the facility says, else its window's start) and its depth (the instrument's typical depth for the
    exposure: estimated, facilities report none)."""
    summary = plan.summary or {}
    states = plan.request_states or {}
    fields = {int(f["rank"]): f for f in summary.get("fields", [])}
    done = {rank: rid for rank, rid in enumerate(summary.get("request_ids", []), 1) if states.get(rid) == COMPLETED}
    with store.session() as s:
        shared = {(r.rank, r.band): r for r in s.scalars(select(SharedPointing).where(
            SharedPointing.plan_id == plan.id))}
    instrument = fac.facility_for(settings.plans, plan.facility).instrument(summary.get("instrument"))
    depth = instrument.depth_ab(float(summary.get("exposure_s", 300)))
    out = []
    for rank, rid in done.items():
        f = fields.get(rank)
        if f is None:
            continue
        filters = visit_filters(f, summary)
        bands = [band_for(name).name for name in filters]
        recorded = [r.observed_time for band in bands if (r := shared.get((rank, band))) and r.observed_time]
        # one request per field: ask the facility once, only when sharing did not record the time
        when = (recorded[0] if recorded else observed_at(plan.facility, rid)) or _epoch(f["start"])
        for name, band in zip(filters, bands, strict=True):
            out.append(Observed(f"{plan.event_id}-F{rank:03d}{'' if len(bands) == 1 else '-' + band}",
                                float(f["ra_deg"]), float(f["dec_deg"]), band, when, depth, True, rank, name))
    return out
