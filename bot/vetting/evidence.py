"""Everything shown about one candidate, as one record (made from the store by :mod:`bot.candidates.evidence`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.brokers.record import Cutouts, Point

from .lightcurve import LightCurveFacts
from .score import KilonovaScore

__all__ = ["Evidence"]


@dataclass(frozen=True)
class Evidence:
    """Everything shown about one candidate: light-curve numbers, score and reasons, brokers' scores, stamps."""

    candidate_id: int
    event_id: str
    object_id: str
    broker: str
    points: tuple[Point, ...]
    lightcurve: LightCurveFacts
    score: KilonovaScore
    broker_scores: dict[str, dict[str, float]]
    cutouts: Cutouts | None
    merger_mjd: float | None
    host_distance_mpc: float | None
    distance_cl: float | None
