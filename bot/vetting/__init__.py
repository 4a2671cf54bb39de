"""Vetting broker candidates: what a light curve says (rates, colour, age), a kilonova score with its reasons,
cutouts, and the evidence picture. Science over plain records; Slack wording lives in :mod:`bot.slack.blocks`."""

from .evidence import Evidence
from .lightcurve import Colour, LightCurveFacts, Rate, facts, merge
from .score import KilonovaScore, Reason, kilonova_score
from .states import NotIt, Status

__all__ = ["Colour", "Evidence", "KilonovaScore", "LightCurveFacts", "NotIt", "Rate", "Reason", "Status", "facts",
           "kilonova_score", "merge"]
