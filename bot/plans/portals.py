"""Which portal takes a facility's plans: the ``submit`` kind in the facility's TOML -> its Submitter."""

from __future__ import annotations

from bot.config import Settings
from bot.plans.lco import LCOSubmitter
from bot.plans.submitter import Submitter

__all__ = ["submitter_for"]


def submitter_for(kind: str, settings: Settings) -> Submitter | None:
    """The portal for a facility's ``submit`` kind (None: plans are taken by hand)."""
    if kind == "lco":
        return LCOSubmitter(settings)
    return None
