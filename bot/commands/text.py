"""Results as plain text: what ``gwbot`` prints, and the CSV files attached to checks. Slack's wording of
the same results is in :mod:`bot.slack.blocks`; both use the phrases defined here."""

from __future__ import annotations

import csv
import io

from bot import formatting as fmt
from bot.commands.check import CandidateCheck, CheckResult
from bot.skymap.crossmatch import verdict_text

__all__ = ["candidate_lines", "check_csv", "check_lines"]


def candidate_lines(c: CandidateCheck, observatory: str | None = None) -> list[str]:
    """The verdict, then the numbers behind it: one phrase per line, the same in Slack and the terminal."""
    lines = [verdict_text(c.plausibility, c.reasons)]
    if c.credible_level is not None:
        lines.append(f"RA {c.ra_deg:.4f}° Dec {c.dec_deg:+.4f}°: credible level {c.credible_level:.3f}, searched area "
                     f"{fmt.area(c.searched_area_deg2 or 0.0)}, {c.probdensity_per_deg2:.3g} per deg², "
                     f"{c.offset_deg:.2f}° from the most probable position")
    if c.distance_mean_mpc is not None:
        line = f"distance along this line of sight {fmt.distance(c.distance_mean_mpc, c.distance_std_mpc)}"
        if c.distance_mpc is not None and c.distance_credible_level is not None:
            line += (f"; at {c.distance_mpc:g} Mpc: distance credible level {c.distance_credible_level:.3f}, "
                     f"3D density {c.probdensity_vol_per_mpc3:.3g} per Mpc³")
        lines.append(line)
    if c.combined_credible_level is not None:
        lines.append(f"in the combined GW × {observatory or 'external'} map: credible level "
                     f"{c.combined_credible_level:.3f} (assumes the coincidence is real)")
    return lines


def check_lines(result: CheckResult) -> list[str]:
    """``gwbot check``'s output."""
    lines = []
    for c in result.candidates:
        first, *rest = candidate_lines(c, result.combined_observatory)
        lines += [first, *(f"  {line}" for line in rest)]
    return lines + result.notes


def check_csv(result: CheckResult) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "ra_deg", "dec_deg", "distance_mpc", "credible_level", "searched_area_deg2",
                "probdensity_per_deg2", "offset_deg", "distance_mean_mpc", "distance_std_mpc",
                "distance_credible_level", "probdensity_vol_per_mpc3", "plausibility", "verdict"])
    for c in result.candidates:
        numbers = (c.credible_level, c.searched_area_deg2, c.probdensity_per_deg2, c.offset_deg, c.distance_mean_mpc,
                   c.distance_std_mpc, c.distance_credible_level, c.probdensity_vol_per_mpc3)
        w.writerow([c.label, f"{c.ra_deg:.6f}", f"{c.dec_deg:.6f}", "" if c.distance_mpc is None else c.distance_mpc,
                    *("" if x is None else f"{x:.6g}" for x in numbers), c.plausibility,
                    verdict_text(c.plausibility, c.reasons)])
    return out.getvalue().encode()
