"""Which channels want an alert: the routing rules of GWBOT_CONFIG applied to one alert, criterion by criterion
(the follow-up verdict says the same checks in words)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Rule
from bot.formatting import SECONDS_PER_YEAR
from bot.ingest.gwalert import GWAlert

__all__ = ["Check", "checks", "matches"]


@dataclass(frozen=True)
class Check:
    """One criterion of a rule on one alert: its key in GWBOT_CONFIG, whether it holds, and the value in words."""

    criterion: str
    passed: bool
    words: str


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def checks(rule: Rule, alert: GWAlert, route: bool = False) -> list[Check]:
    """Every criterion the rule sets, checked on the alert.

    ``route``: for extra channels, mock events pass only when the rule says ``mock = true`` (and then only mocks
    do). A retraction (no event) passes: it follows the event wherever it went.
    """
    out: list[Check] = []
    if route and bool(rule.mock) != alert.is_mock:
        out.append(Check("mock", False, "a mock event" if alert.is_mock else "a real event"))
    if rule.alert_types:
        out.append(Check("alert_types", alert.alert_type in rule.alert_types, f"{alert.alert_type} alert"))
    ev = alert.event
    if ev is None:
        return out
    if rule.significant is not None:
        out.append(Check("significant", ev.significant == rule.significant,
                         "significant" if ev.significant else "not significant"))
    if rule.groups:
        out.append(Check("groups", ev.group.upper() in {g.upper() for g in rule.groups}, f"{ev.group} group"))
    # an unknown FAR does not drop the alert: it is shown as unknown and judged by the other criteria
    if rule.max_far_per_year is not None and ev.far is not None:
        per_year = ev.far * SECONDS_PER_YEAR
        out.append(Check("max_far_per_year", per_year <= rule.max_far_per_year,
                         f"FAR {per_year:.3g}/yr (rule: ≤ {rule.max_far_per_year:g}/yr)"))
    for key, name, value in (("min_bns", "BNS", ev.classification.get("BNS", 0.0)),
                             ("min_nsbh", "NSBH", ev.classification.get("NSBH", 0.0)),
                             ("min_hasns", "HasNS", ev.properties.get("HasNS", 0.0)),
                             ("min_hasremnant", "HasRemnant", ev.properties.get("HasRemnant", 0.0))):
        minimum = getattr(rule, key)
        if minimum is not None:
            out.append(Check(key, value >= minimum, f"{name} {_percent(value)} (rule: ≥ {_percent(minimum)})"))
    return out


def matches(rule: Rule, alert: GWAlert, route: bool = False) -> bool:
    """True when the alert passes every criterion the rule sets."""
    return all(c.passed for c in checks(rule, alert, route))
