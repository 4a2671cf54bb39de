"""Filters as Treasure Map names them, and which bands are comparable for coverage.

Treasure Map's bandpass names: TheTreasureMap/gwtm @ c7a124ff : server/core/enums/bandpass.py (there is no
``y``; other bands go as ``other`` with a central wavelength and width, in Angstrom)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Band", "Family", "band_for", "family_of"]

TREASUREMAP_BANDS = frozenset({
    "U", "B", "V", "R", "I", "J", "H", "K", "u", "g", "r", "i", "z", "UVW1", "UVW2", "UVM2", "XRT", "clear", "open",
    "UHF", "VHF", "L", "S", "C", "X", "other", "TESS", "BAT", "HESS", "WISEL", "q"})


class Family(StrEnum):
    """Bands whose observations answer the same question about a counterpart: an optical search in g is
    not repeated in r just because the letter differs, but an X-ray pointing does not cover optical sky."""

    ULTRAVIOLET = "ultraviolet"
    OPTICAL = "optical"
    INFRARED = "infrared"
    XRAY = "x-ray"
    GAMMA = "gamma-ray"
    RADIO = "radio"


_FAMILY = {
    **dict.fromkeys(("UVW1", "UVW2", "UVM2", "U", "u"), Family.ULTRAVIOLET),
    **dict.fromkeys(("B", "V", "R", "I", "g", "r", "i", "z", "clear", "open", "TESS", "q", "other"), Family.OPTICAL),
    **dict.fromkeys(("J", "H", "K", "WISEL"), Family.INFRARED),
    **dict.fromkeys(("XRT", "BAT"), Family.XRAY),
    "HESS": Family.GAMMA,
    **dict.fromkeys(("UHF", "VHF", "L", "S", "C", "X"), Family.RADIO),
}


@dataclass(frozen=True)
class Band:
    """A Treasure Map band; ``central_wave``/``bandwidth`` (Angstrom) only for ``other``."""

    name: str
    central_wave: float | None = None
    bandwidth: float | None = None


# LCO's filter names (observation portal instruments) -> Treasure Map bands. 'w' is LCO's wide
# 400-850 nm filter, closest to "clear"; Y is not among Treasure Map's bands.
_FROM_FILTER = {"up": Band("u"), "gp": Band("g"), "rp": Band("r"), "ip": Band("i"), "zs": Band("z"),
                "w": Band("clear"), "Y": Band("other", 10040.0, 1120.0)}


def band_for(filter_name: str) -> Band:
    """The Treasure Map band of a facility's filter (already a Treasure Map name, or LCO's)."""
    if filter_name in _FROM_FILTER:
        return _FROM_FILTER[filter_name]
    if filter_name in TREASUREMAP_BANDS:
        return Band(filter_name)
    return Band("other")


def family_of(band: str) -> Family | None:
    """None for a band we cannot place (such pointings cover nothing we compare with)."""
    return _FAMILY.get(band)
