"""A robotic facility's portal, as the plan domain sees it: everything facility-specific about turning a plan
into a request, checking it, submitting it once, and following it. LCO is the first implementation
(:mod:`bot.plans.lco`); a second facility implements this and adds itself to
:func:`bot.plans.portals.submitter_for`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.plans.facilities import Facility, Instrument
from bot.plans.planner import Plan

__all__ = ["Submitted", "SubmitError", "Submitter"]


class SubmitError(Exception):
    """The facility refused or could not be reached; the message says why in words. ``retry``: try later."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Submitted:
    group_id: int
    states: dict[str, str]  # request id -> state
    url: str  # where people can see it at the facility


class Submitter(Protocol):
    @property
    def final_states(self) -> Mapping[str, str]:
        """Final request states, in words ("COMPLETED": "completed", ...)."""
        ...

    def prepare(self, facility: Facility, start: datetime, hours: float) -> tuple[Facility, float, list[str]]:
        """The facility as the portal has it now, the window length it accepts, and notes in words."""
        ...

    def payload(self, plan: Plan, event_id: str, facility: Facility, instrument: Instrument) -> dict[str, Any]: ...

    def validate(self, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """(the portal's answer or None, a note in words)."""
        ...

    def submit(self, payload: dict[str, Any]) -> Submitted: ...

    def states(self, group_id: int) -> dict[str, str]:
        """Each request's state now; SCHEDULED when a telescope will take it."""
        ...

    def observed(self, request_id: int) -> float | None:
        """When the request's field was observed (epoch seconds), if the facility says."""
        ...

    def cancel(self, group_id: int) -> dict[str, str]:
        """Cancel what the facility has not done yet; each request's state after (CANCELED for those cancelled,
        those that had ended keep theirs). Cancelling a group that has ended, or twice, is no error."""
        ...

    def describe_errors(self, errors: Any) -> list[str]: ...
