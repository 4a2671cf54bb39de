"""What someone asked a plan to be (from ``/gw plan`` or a re-plan), kept with the plan."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PlanRequest"]


@dataclass(frozen=True)
class PlanRequest:
    facility: str
    instrument: str | None = None
    filters: tuple[str, ...] | None = None
    exposure_s: float = 300.0
    fields: int | None = None
    hours: float = 24.0
    galaxies: bool = False
    map: str = "gw"  # or "combined": the GW x external-coincidence map
    ignore_others: bool = False  # plan as if no one had observed (no Treasure Map coverage subtracted)
    revisit: str | None = None  # observe every field again in this filter
    revisit_gap_min: float = 30.0  # at least this long after its first visit
