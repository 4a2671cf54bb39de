"""Which channels want an alert: the routing rules of GWBOT_CONFIG applied to one alert."""

from __future__ import annotations

from bot.config import Rule
from bot.formatting import SECONDS_PER_YEAR
from bot.ingest.gwalert import GWAlert


def matches(rule: Rule, alert: GWAlert, route: bool = False) -> bool:
    """True when the alert passes every criterion the rule sets.

    ``route``: for extra channels, mock events pass only when the rule says
    ``mock = true`` (and then only mocks do).
    """
    if route and bool(rule.mock) != alert.is_mock:
        return False
    if rule.alert_types and alert.alert_type not in rule.alert_types:
        return False
    ev = alert.event
    if ev is None:  # a retraction follows the event wherever it went
        return True
    if rule.significant is not None and ev.significant != rule.significant:
        return False
    if rule.groups and ev.group.upper() not in {g.upper() for g in rule.groups}:
        return False
    # an unknown FAR does not drop the alert: it is shown as unknown and judged by the other criteria
    if rule.max_far_per_year is not None and ev.far is not None and ev.far * SECONDS_PER_YEAR > rule.max_far_per_year:
        return False
    minimums = [
        (rule.min_bns, ev.classification.get("BNS", 0.0)),
        (rule.min_nsbh, ev.classification.get("NSBH", 0.0)),
        (rule.min_hasns, ev.properties.get("HasNS", 0.0)),
        (rule.min_hasremnant, ev.properties.get("HasRemnant", 0.0)),
    ]
    return all(value >= minimum for minimum, value in minimums if minimum is not None)
