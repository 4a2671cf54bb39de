"""The team's verdict on a candidate, as SkyPortal keeps one per source (pending / confirmed / ambiguous /
rejected): here new, interesting, follow up, or not it with a reason."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NotIt", "Status"]


class Status(StrEnum):
    NEW = "new"
    INTERESTING = "interesting"
    FOLLOW_UP = "follow_up"
    REJECTED = "rejected"

    @property
    def words(self) -> str:
        return {"new": "not vetted", "interesting": "Interesting", "follow_up": "Follow up",
                "rejected": "Not it"}[self.value]


class NotIt(StrEnum):
    """Why a candidate is not the counterpart."""

    ASTEROID = "asteroid"
    VARIABLE_STAR = "variable star"
    AGN = "AGN"
    SUPERNOVA = "supernova"
    ARTEFACT = "artefact"
    OUTSIDE_WINDOW = "outside the time window"
    OTHER = "other"
