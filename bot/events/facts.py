"""An event's headline numbers, kept with the event (as plain numbers) and formatted only when shown."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.ingest.gwalert import GWAlert
from bot.skymap.summary import Summary

__all__ = ["EventFacts"]


@dataclass(frozen=True)
class EventFacts:
    class_name: str | None = None  # the most likely classification
    class_prob: float | None = None
    significant: bool = False
    far_hz: float | None = None
    group: str | None = None
    event_time: str | None = None  # ISO 8601, as the alert has it
    area_90_deg2: float | None = None  # of the GW sky map
    distance_mean_mpc: float | None = None
    distance_std_mpc: float | None = None

    @classmethod
    def of(cls, alert: GWAlert, summary: Summary | None) -> EventFacts:
        ev = alert.event
        best = max(ev.classification.items(), key=lambda kv: kv[1]) if ev and ev.classification else (None, None)
        return cls(class_name=best[0], class_prob=best[1], significant=bool(ev and ev.significant),
                   far_hz=ev.far if ev else None, group=ev.group if ev else None, event_time=ev.time if ev else None,
                   area_90_deg2=summary.area_90_deg2 if summary else None,
                   distance_mean_mpc=summary.distance_mean_mpc if summary else None,
                   distance_std_mpc=summary.distance_std_mpc if summary else None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict[str, Any] | None) -> EventFacts:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (stored or {}).items() if k in known})
