"""The follow-up verdict: for one facility's rule and one alert, GO, WAIT or NO, with its reasons in words.

NO: the event fails a criterion of the rule (class, FAR, group, significance, 90% area, distance). WAIT: it passes
them, but the facility can observe less of the probability in the next 24 h than the rule asks (a better map or
the next night may change that). GO: it passes them all; a plan is proposed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.config import FollowupRule
from bot.events.facts import EventFacts
from bot.events.routing import Check, checks
from bot.ingest.gwalert import GWAlert
from bot.plans.visibility import Observability

__all__ = ["Decision", "Verdict", "event_checks", "judge", "verdict_from_json", "verdict_to_json"]

OBSERVABLE = "min_observable"


class Decision(StrEnum):
    GO = "GO"
    WAIT = "WAIT"
    NO = "NO"


@dataclass(frozen=True)
class Verdict:
    rule: str
    decision: Decision
    reasons: tuple[str, ...]  # the failing criteria first, then the facts that make the case
    failing: tuple[str, ...]  # the criteria (GWBOT_CONFIG keys) that did not hold
    observable: float | None
    first: tuple[datetime, str] | None


def verdict_to_json(verdict: Verdict) -> dict[str, Any]:
    """As an event keeps it."""
    out = asdict(verdict)
    out["first"] = [verdict.first[0].isoformat(), verdict.first[1]] if verdict.first else None
    return out


def verdict_from_json(stored: dict[str, Any]) -> Verdict:
    first = stored.get("first")
    return Verdict(stored["rule"], Decision(stored["decision"]), tuple(stored.get("reasons") or ()),
                   tuple(stored.get("failing") or ()), stored.get("observable"),
                   (datetime.fromisoformat(first[0]), first[1]) if first else None)


def event_checks(rule: FollowupRule, alert: GWAlert, facts: EventFacts) -> list[Check]:
    """The rule's criteria on the alert and its map (cheap: no visibility yet)."""
    out = checks(rule.criteria, alert)
    if rule.max_area90_deg2 is not None and facts.area_90_deg2 is not None:
        out.append(Check("max_area90_deg2", facts.area_90_deg2 <= rule.max_area90_deg2,
                         f"90% area {facts.area_90_deg2:,.0f} deg² (rule: ≤ {rule.max_area90_deg2:,.0f})"))
    if rule.max_distance_mpc is not None and facts.distance_mean_mpc is not None:
        out.append(Check("max_distance_mpc", facts.distance_mean_mpc <= rule.max_distance_mpc,
                         f"{facts.distance_mean_mpc:.0f} Mpc (rule: ≤ {rule.max_distance_mpc:.0f})"))
    return out


def judge(rule: FollowupRule, found: list[Check], facts: EventFacts, seen: Observability | None,
          hours: float = 24.0) -> Verdict:
    """The verdict from the event's checks and what the facility can observe."""
    found = list(found)
    if seen is not None:
        found.append(Check(OBSERVABLE, seen.probability >= rule.min_observable,
                           f"{100 * seen.probability:.0f}% of the probability observable in the next {hours:g} h"
                           + (f" (rule: ≥ {100 * rule.min_observable:.0f}%)"
                              if seen.probability < rule.min_observable else "")))
    failing = tuple(c.criterion for c in found if not c.passed)
    decision = Decision.GO if not failing else Decision.WAIT if failing == (OBSERVABLE,) else Decision.NO
    reasons = [c.words for c in found if not c.passed]
    if facts.class_name and facts.class_prob is not None:
        reasons.append(f"{facts.class_name} {100 * facts.class_prob:.0f}%")
    if facts.distance_mean_mpc is not None:
        reasons.append(f"{facts.distance_mean_mpc:.0f} ± {facts.distance_std_mpc or 0:.0f} Mpc")
    reasons += [c.words for c in found if c.passed and c.criterion in ("max_area90_deg2", OBSERVABLE)]
    if seen is not None and seen.first is not None and decision is not Decision.NO:
        reasons.append(f"first field {seen.first[0]:%H:%M} UTC from {seen.first[1]}")
    elif seen is not None and seen.first is None:
        reasons.append(f"nothing observable in the next {hours:g} h")
    return Verdict(rule.name, decision, tuple(dict.fromkeys(reasons)), failing,
                   seen.probability if seen is not None else None, seen.first if seen is not None else None)
