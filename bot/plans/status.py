"""A plan's state: proposed (or draft) -> approved -> submitting -> submitted -> done, or rejected, expired,
superseded, failed. Stored as its string value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from enum import StrEnum

__all__ = ["OPEN", "PlanStatus", "REQUEST_FINAL", "standing"]


class PlanStatus(StrEnum):
    PROPOSED = "proposed"  # validated: waiting for an approver
    DRAFT = "draft"  # for information: cannot be submitted from Slack
    APPROVED = "approved"  # to be submitted (again, after a transient failure)
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DONE = "done"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    FAILED = "failed"


#: plans that a newer sky map, a retraction or the clock can still end
OPEN = (PlanStatus.PROPOSED, PlanStatus.DRAFT)


#: a facility request's final states, in words (LCO's: observation-portal requestgroups/state_changes.py)
REQUEST_FINAL = {"COMPLETED": "completed", "WINDOW_EXPIRED": "expired", "FAILURE_LIMIT_REACHED": "failed",
                 "CANCELED": "canceled"}


def standing(states: dict[str, str], final: Mapping[str, str] = REQUEST_FINAL) -> str:
    """Where a submitted plan's requests stand: "312 of 717 requests completed, 3 expired; 402 pending"."""
    counts = Counter(final.get(state) for state in states.values())  # None: not final yet
    parts = [f"{counts.pop('completed', 0)} of {len(states)} requests completed"]
    pending = counts.pop(None, 0)
    parts += [f"{n} {word}" for word, n in sorted(counts.items())]
    return ", ".join(parts) + (f"; {pending} pending" if pending else "")
