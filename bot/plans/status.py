"""A plan's state: proposed (or draft) -> approved -> submitting -> submitted -> done, or rejected, expired,
superseded, failed; a submitted plan may be cancelling -> cancelled. Stored as its string value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from enum import StrEnum

__all__ = ["OPEN", "PlanStatus", "REQUEST_FINAL", "id_list", "standing"]


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
    CANCELLING = "cancelling"  # asked of the facility (Cancel, or the event was retracted)
    CANCELLED = "cancelled"


#: plans that a newer sky map, a retraction or the clock can still end
OPEN = (PlanStatus.PROPOSED, PlanStatus.DRAFT)


#: a facility request's final states, in words (LCO's: observation-portal requestgroups/state_changes.py)
REQUEST_FINAL = {"COMPLETED": "completed", "WINDOW_EXPIRED": "expired", "FAILURE_LIMIT_REACHED": "failed",
                 "CANCELED": "canceled"}


def standing(states: dict[str, str], final: Mapping[str, str] = REQUEST_FINAL) -> str:
    """Where a submitted plan's requests stand: "312 of 717 requests completed, 3 expired; 402 scheduled"."""
    counts = Counter(final.get(state, state) for state in states.values())
    parts = [f"{counts.pop('completed', 0)} of {len(states)} requests completed"]
    parts += [f"{counts.pop(word)} {word}" for word in sorted(set(final.values()) & set(counts))]
    waiting = ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items()))
    return ", ".join(parts) + (f"; {waiting}" if waiting else "")


def id_list(ids: list[str], shown: int = 5) -> str:
    """"3 requests: 11, 12, 13", or for many "700 requests (1001 … 1700)": never a message of ids."""
    if len(ids) <= shown:
        return f"{len(ids)} request{'s' if len(ids) != 1 else ''}: {', '.join(ids)}"
    return f"{len(ids)} requests ({ids[0]} … {ids[-1]})"
