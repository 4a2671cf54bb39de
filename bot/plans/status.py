"""A plan's state: proposed (or draft) -> approved -> submitting -> submitted -> done, or rejected, expired,
superseded, failed. Stored as its string value."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PlanStatus", "OPEN"]


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
