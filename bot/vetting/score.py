"""A kilonova score: points for what makes a candidate kilonova-like, taken away for what makes it something
else, each with its reason in words. It orders the digests; the reasons are shown with it.

The criteria and their numbers, with their sources:

- fast evolution: fading faster than 0.3 mag/day or rising faster than 1 mag/day (ZTFReST, growth-astro/ztfrest @
  ba84b4b3; Fink's ``rate_based_kn_candidates`` uses the same 0.3 mag/day fade, astrolabsoftware/fink-filters @
  0b8b44b3). AT2017gfo faded ~1 mag/day in g and ~0.5-0.9 in r over its first days (nmma @ 299933d5 :
  example_files/lightcurves/AT2017gfo_corrected.dat; Kasliwal et al. 2020 assume ~1 mag/day);
- slow evolution is SN-like: a SN Ia rises for ~18 days, only ~0.2-0.4 mag/day in its first weeks (Miller et al.
  2020); ZTFReST penalises durations beyond ~10-14 days;
- red and reddening: AT2017gfo's g-r went from -0.3 at 0.5 d to +0.4 at 1.4 d and ~+1 at 2-6 d;
- young: no detection before the merger, first detection within days (ZTF's O4 vetting, GCN Circulars 33848 and
  34755; Fink's ``kn_candidates`` keeps objects under 5 days old);
- inside the region with a consistent distance (the same credible levels as ``/gw check``);
- stars rank low (a star-like PS1 score, BOOM's ``sgscore1``); known asteroids, catalogued stars, variables and
  AGN never get here: the candidate filter rejects them first (:func:`bot.candidates.match.judge`), and a
  ``solar_system`` flag still costs 5 points should one be scored.

Brokers' own classifier scores are shown as given, never folded into these points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.candidates.match import DISTANCE_OUTLIER_CL

from .lightcurve import LightCurveFacts

__all__ = ["FAST_FADE", "FAST_RISE", "KilonovaScore", "Reason", "kilonova_score"]

FAST_FADE = 0.3  # mag/day
FAST_RISE = 1.0  # mag/day
SLOW_SPAN_DAYS = 2.0  # a slow rate means something only over this long
YOUNG_DAYS = 3.0
LONG_DAYS = 14.0
RED = 0.3  # g - r, mag
REDDENING = 0.1  # mag/day
STAR_SCORE = 0.8  # BOOM's sgscore1 (PS1 star/galaxy): 1 is a star


@dataclass(frozen=True)
class Reason:
    points: float
    words: str


@dataclass(frozen=True)
class KilonovaScore:
    points: float
    reasons: tuple[Reason, ...]

    def to_json(self) -> list:
        return [[r.points, r.words] for r in self.reasons]

    @classmethod
    def from_json(cls, rows: list | None) -> KilonovaScore:
        reasons = tuple(Reason(float(p), str(w)) for p, w in rows or ())
        return cls(sum(r.points for r in reasons), reasons)


def _rates(lc: LightCurveFacts) -> list[Reason]:
    out = []
    for r in lc.rates:
        said = f"{'fades' if r.slope > 0 else 'rises'} {abs(r.slope):.2f} ± {r.err:.2f} mag/day in {r.band}"
        significant = abs(r.slope) > 2 * r.err
        if r.phase == "fade" and r.slope > FAST_FADE:
            out.append(Reason(3.0 if significant else 1.0, f"{said}: faster than {FAST_FADE} mag/day"
                                                          f"{'' if significant else ' (uncertain)'}"))
        elif r.phase == "rise" and r.slope < -FAST_RISE:
            out.append(Reason(2.0 if significant else 0.5, f"{said}: faster than {FAST_RISE:.0f} mag/day"
                                                          f"{'' if significant else ' (uncertain)'}"))
        elif r.span_days >= SLOW_SPAN_DAYS and abs(r.slope) < FAST_FADE and r.err < FAST_FADE / 2:
            out.append(Reason(-2.0, f"{said} over {r.span_days:.1f} d: slow, supernova-like"))
        else:
            out.append(Reason(0.0, said))
    return out


def _colour(lc: LightCurveFacts) -> list[Reason]:
    out = []
    colour = lc.colour
    if colour is not None:
        if colour.value > RED:
            out.append(Reason(1.0, f"red: g−r {colour.value:+.2f}"))
        else:
            out.append(Reason(0.0, f"g−r {colour.value:+.2f}"))
    if lc.reddening is not None and lc.reddening > REDDENING:
        out.append(Reason(1.0, f"reddening {lc.reddening:+.2f} mag/day"))
    return out


def _age(lc: LightCurveFacts) -> list[Reason]:
    if lc.before_merger:
        return [Reason(-5.0, f"detected {lc.before_merger} time{'s' if lc.before_merger > 1 else ''} before the "
                             "merger")]
    hours = lc.hours_after_merger
    if hours is None:
        return []
    out = []
    if hours <= YOUNG_DAYS * 24:
        out.append(Reason(1.0, f"first detected {hours:.1f} h after the merger"))
    elif hours > 7 * 24:
        out.append(Reason(-1.0, f"first detected {hours / 24:.1f} d after the merger"))
    if lc.last_limit_before is not None and lc.merger_mjd is not None and lc.first_mjd is not None \
            and lc.last_limit_before.mjd >= lc.merger_mjd - 1.0:
        p = lc.last_limit_before
        out.append(Reason(0.5, f"not seen {24 * (lc.first_mjd - p.mjd):.1f} h before (>{p.mag:.1f} in {p.band})"))
    if lc.span_days > LONG_DAYS:
        out.append(Reason(-2.0, f"seen for {lc.span_days:.0f} d: too long for a kilonova"))
    if lc.detections == 1:
        out.append(Reason(0.0, "one detection: no rate yet"))
    return out


def _where(credible_level: float, distance_cl: float | None) -> list[Reason]:
    out = [Reason(1.0 if credible_level <= 0.5 else 0.5 if credible_level <= 0.9 else 0.0,
                  f"inside the {credible_level:.0%} credible region")]
    if distance_cl is not None:
        if distance_cl >= DISTANCE_OUTLIER_CL:
            out.append(Reason(-3.0, "host far outside the distance posterior"))
        elif distance_cl > 0.9:
            out.append(Reason(-1.0, f"host distance in tension (CL {distance_cl:.2f})"))
        else:
            out.append(Reason(1.0, f"host distance consistent (CL {distance_cl:.2f})"))
    return out


def kilonova_score(lc: LightCurveFacts, credible_level: float, distance_cl: float | None = None,
                   broker_scores: Mapping[str, float] | None = None, solar_system: bool = False) -> KilonovaScore:
    """The points and their reasons, best evidence first."""
    reasons = _rates(lc) + _colour(lc) + _age(lc) + _where(credible_level, distance_cl)
    star = (broker_scores or {}).get("sgscore1")
    if star is not None and star > STAR_SCORE:
        reasons.append(Reason(-2.0, f"star-like (sgscore1 {star:.2f})"))
    if solar_system:
        reasons.append(Reason(-5.0, "a known solar-system object"))
    reasons.sort(key=lambda r: -abs(r.points))
    return KilonovaScore(round(sum(r.points for r in reasons), 2), tuple(reasons))
