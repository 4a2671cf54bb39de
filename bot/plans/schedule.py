"""A night's schedule for a network of telescopes: every field gets a site, a telescope and a start time.

Plain functions over arrays. Time is cut into steps; ``ok[site][field, i]`` says the field can be observed
from the site all through step ``i`` (the Sun below the limit, airmass within the limit and the Moon far
enough at both of the step's ends: the Sun's and a field's altitude cannot dip and recover within a step,
so a condition that holds at both ends holds between them). An exposure may start at any moment and is
feasible when every step it touches is ok, so the start and the end are both checked.

All telescopes are scheduled together, greedily in time: the telescope free soonest takes, among the fields
it can observe now, the one with the most probability per hour of visibility it has left anywhere in the
network (urgency: a lobe about to set goes first; the cells are disjoint, so a field's probability is also
its marginal gain in the union). Nothing that does not fit is scheduled.

With a :class:`Revisit`, each field is observed a second time (another filter) at least ``gap_s`` after its
first exposure ends, from any site: a telescope takes a due revisit before a new field (the one whose
visibility ends soonest), and a new field is only started when its revisit can still fit in the window.
Revisits add no probability; they are listed as their own slots.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

__all__ = ["Revisit", "Slot", "Schedule", "schedule", "why_nothing"]


@dataclass(frozen=True)
class Slot:
    site: str
    telescope: int  # 1, 2, … at the site
    start: datetime
    end: datetime
    window: tuple[datetime, datetime]  # the stretch of visibility at the site that holds the slot
    visit: int = 1  # 2: the field's revisit


@dataclass(frozen=True)
class Revisit:
    gap_s: float  # from the end of the first visit to the start of the second, at least
    duration_s: float  # the second visit's exposures, readouts and setup


@dataclass(frozen=True)
class Schedule:
    picks: list[tuple[int, Slot]]  # (field index, its slot), in time order
    seconds_per_site: dict[str, float]
    unscheduled_prob: float  # observable for at least one exposure somewhere, but not scheduled
    missed_revisits: int = 0  # first visits whose revisit found no telescope time


def _stretch(ok_row: np.ndarray, first: int, last: int) -> tuple[int, int]:
    """The run of ok steps around [first, last]."""
    lo, hi = first, last
    while lo > 0 and ok_row[lo - 1]:
        lo -= 1
    while hi + 1 < len(ok_row) and ok_row[hi + 1]:
        hi += 1
    return lo, hi


def schedule(value: np.ndarray, ok: dict[str, np.ndarray], telescopes: dict[str, int], start: datetime,
             step_s: float, duration_s: float, limit: int | None = None, revisit: Revisit | None = None
             ) -> Schedule:
    """Schedule fields (``value``: probability, the gain of observing each) on every telescope.

    ``ok[site]`` is a [fields, steps] mask as described above; each exposure of a field takes ``duration_s``
    (exposures, readouts and setup). With a ``limit``, the most valuable fields of the full schedule are kept
    and scheduled again on their own (so a limit keeps the best fields, not the earliest; it counts first visits).
    """
    fits = {code: _runs(mask, _span(duration_s, step_s)) for code, mask in ok.items()}
    again = None
    if revisit is not None:
        again = _Again(revisit, {code: _runs(mask, _span(revisit.duration_s, step_s)) for code, mask in ok.items()},
                       len(value))
    # hours of visibility each field has left, anywhere in the network, from each step on
    anywhere = _anywhere(ok, len(value))
    left_h = np.cumsum(anywhere[:, ::-1], axis=1, dtype=np.float32)[:, ::-1] * np.float32(step_s / 3600.0)
    picks, used = _greedy(value, ok, fits, left_h, telescopes, start, step_s, duration_s, again)
    firsts = [j for j, slot in picks if slot.visit == 1]
    if limit is not None and len(firsts) > limit:
        best = sorted(firsts, key=lambda j: -value[j])[:limit]
        chosen = np.zeros(len(value), dtype=bool)
        chosen[best] = True
        picks, used = _greedy(np.where(chosen, value, 0.0), ok, fits, left_h, telescopes, start, step_s, duration_s,
                              again)
        firsts = [j for j, slot in picks if slot.visit == 1]
    could = np.asarray(_anywhere(fits, len(value)).any(axis=1))  # observable for one exposure somewhere
    could[firsts] = False
    missed = len(firsts) - (len(picks) - len(firsts)) if revisit is not None else 0  # first visits without a second
    return Schedule(sorted(picks, key=lambda p: p[1].start), {c: s for c, s in used.items() if s > 0},
                    float(value[could].sum()), missed)


def _anywhere(masks: dict[str, np.ndarray], n: int) -> np.ndarray:
    """[fields, steps]: true where any site's mask is."""
    out = np.zeros((n, next(iter(masks.values())).shape[1] if masks else 0), dtype=bool)
    for mask in masks.values():
        out |= mask
    return out


def _span(duration_s: float, step_s: float) -> int:
    """Steps an exposure starting anywhere in a step may touch."""
    return int(np.ceil(duration_s / step_s)) + 1


class _Again:
    """Where each field's revisit can fit (each greedy run keeps its own record of when they fall due)."""

    def __init__(self, revisit: Revisit, fits: dict[str, np.ndarray], n: int) -> None:
        self.revisit = revisit
        self.fits = fits
        # a revisit can still start somewhere at this step or later
        self.later = np.logical_or.accumulate(_anywhere(fits, n)[:, ::-1], axis=1)[:, ::-1]

    def possible_after(self, t: float, step_s: float) -> np.ndarray:
        """Fields whose revisit could still start somewhere at ``t`` (seconds from the start) or later."""
        step = int(np.ceil(t / step_s))
        return self.later[:, step] if step < self.later.shape[1] else np.zeros(self.later.shape[0], dtype=bool)


def _runs(mask: np.ndarray, span: int) -> np.ndarray:
    """[fields, steps]: ok for ``span`` steps from each step on (False where the window ends first)."""
    total = np.zeros((mask.shape[0], mask.shape[1] + 1), dtype=np.int32)
    np.cumsum(mask, axis=1, out=total[:, 1:])
    out = np.zeros(mask.shape, dtype=bool)
    n = mask.shape[1] - span + 1
    if n > 0:
        out[:, :n] = total[:, span:span + n] - total[:, :n] == span
    return out


def _greedy(value: np.ndarray, ok: dict[str, np.ndarray], fits: dict[str, np.ndarray], left_h: np.ndarray,
            telescopes: dict[str, int], start: datetime, step_s: float, duration_s: float, again: _Again | None
            ) -> tuple[list[tuple[int, Slot]], dict[str, float]]:
    """Every telescope, free soonest first, takes a due revisit or else the best field it can observe now (see
    the module's text)."""
    n_steps = next(iter(ok.values())).shape[1] if ok else 0
    somewhere: dict[str, np.ndarray] = {code: np.asarray(run.any(axis=0)) for code, run in fits.items()}  # any start
    todo = value > 0
    heap = [(0.0, code, k) for code, n in telescopes.items() if code in ok for k in range(1, n + 1)]
    heapq.heapify(heap)
    picks: list[tuple[int, Slot]] = []
    used = dict.fromkeys(ok, 0.0)
    due_at = np.full(len(value), np.inf)  # when each field's revisit may start (s from the start); inf: none
    if again is not None:
        somewhere = {code: s | again.fits[code].any(axis=0) for code, s in somewhere.items()}

    def take(j: int, t: float, first: int, code: str, k: int, seconds: float, visit: int) -> None:
        last = int(np.ceil((t + seconds) / step_s)) - 1
        lo, hi = _stretch(ok[code][j], first, last)
        when = start + timedelta(seconds=t)
        picks.append((j, Slot(code, k, when, when + timedelta(seconds=seconds),
                              (start + timedelta(seconds=lo * step_s), start + timedelta(seconds=(hi + 1) * step_s)),
                              visit)))
        used[code] += seconds
        heapq.heappush(heap, (t + seconds, code, k))

    while heap and (todo.any() or np.isfinite(due_at).any()):
        t, code, k = heapq.heappop(heap)
        first = int(t // step_s)
        if first >= n_steps:
            continue  # this telescope's window is over
        if not somewhere[code][first]:
            later = np.flatnonzero(somewhere[code][first + 1:])
            if len(later):  # skip the day (or a gap) in one go
                heapq.heappush(heap, ((first + 1 + later[0]) * step_s, code, k))
            continue
        if again is not None:
            due = np.flatnonzero((due_at <= t) & again.fits[code][:, first])
            if len(due):  # the revisit that sets soonest
                j = int(due[np.argmin(left_h[due, first])])
                due_at[j] = np.inf
                take(j, t, first, code, k, again.revisit.duration_s, 2)
                continue
        now = todo & fits[code][:, first]
        if again is not None:
            now &= again.possible_after(t + duration_s + again.revisit.gap_s, step_s)
        candidates = np.flatnonzero(now)
        if len(candidates) == 0:
            heapq.heappush(heap, ((first + 1) * step_s, code, k))  # nothing now: look again at the next step
            continue
        j = int(candidates[np.argmax(value[candidates] / (left_h[candidates, first] + duration_s / 3600.0))])
        todo[j] = False
        if again is not None:
            due_at[j] = t + duration_s + again.revisit.gap_s
        take(j, t, first, code, k, duration_s, 1)
    return picks, used


def why_nothing(dark: dict[str, np.ndarray], high: dict[str, np.ndarray], far: np.ndarray,
                duration_s: float, step_s: float, sun_limit: float, airmass: float, moon: float) -> str:
    """In words, why no field could be scheduled: the Sun, airmass, the Moon, or stretches too short."""
    if not any(d.any() for d in dark.values()):
        return f"the Sun is above {sun_limit:g}° at every site for the whole window"
    if not any((high[c] & dark[c][None, :]).any() for c in dark):
        return f"no part of the localization rises above airmass {airmass:g} at any site while it is dark"
    if not any((high[c] & far & dark[c][None, :]).any() for c in dark):
        return f"what is observable is within {moon:g}° of the Moon"
    return (f"the localization is observable only in stretches shorter than one exposure "
            f"({duration_s / 60:.0f} min with readout and setup)")
