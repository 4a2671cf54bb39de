"""What a facility can observe of a map in the next hours: the probability observable at some time from some
site (Sun below its limit, airmass within its limit and the Moon far enough, all through a step), hour by hour
per site, and when its first field can start. The verdict weighs it; the visibility picture draws it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from bot.plans.facilities import Facility, Instrument
from bot.plans.planner import STEP_MINUTES, cells_for, visible
from bot.skymap.prepared import PreparedMap

__all__ = ["Observability", "observability", "shared_picture", "visibility_png"]


@dataclass(frozen=True)
class Observability:
    facility: str
    start: datetime
    step_s: float
    probability: float  # observable at some step from some site (each field counted once)
    per_site: dict[str, np.ndarray]  # probability observable in each step, per site
    dark: dict[str, np.ndarray]  # per site and step: the Sun below the facility's limit all through it
    first: tuple[datetime, str] | None  # when the first field can start, and where

    @property
    def times(self) -> list[datetime]:
        """The start of each step."""
        n = len(next(iter(self.per_site.values()))) if self.per_site else 0
        return [self.start + timedelta(seconds=i * self.step_s) for i in range(n)]


def observability(prepared: PreparedMap, facility: Facility, instrument: Instrument, start: datetime,
                  hours: float = 24.0) -> Observability:
    """The facility's view of the map over ``hours`` from ``start``, on the fields its plans would use."""
    cells, _ = cells_for(prepared, facility, instrument)
    keep = cells.prob > 0
    ra, dec, prob = cells.ra[keep], cells.dec[keep], cells.raw[keep]
    step = timedelta(minutes=STEP_MINUTES)
    n_steps = max(1, int(np.ceil(hours * 60 / STEP_MINUTES)))
    times = [start + i * step for i in range(n_steps + 1)]
    sites = facility.sites_for(instrument)
    dark, _, _, ok = visible(ra, dec, facility, sites, times)
    anywhere = np.zeros(len(ra), dtype=bool)
    per_site, first = {}, None
    for site in sites:
        mask = ok[site.code]
        anywhere |= mask.any(axis=1)
        per_site[site.code] = prob @ mask if len(prob) else np.zeros(n_steps)
        steps = np.flatnonzero(mask.any(axis=0))
        if len(steps) and (first is None or times[steps[0]] < first[0]):
            first = (times[steps[0]], site.code)
    return Observability(facility.name, start, STEP_MINUTES * 60.0, float(prob[anywhere].sum()), per_site,
                         {c: d[:-1] & d[1:] for c, d in dark.items()}, first)


def shared_picture(seen: Observability, event_id: str, facility: Facility, instrument: Instrument, hours: float,
                   subtitle: str | None = None) -> tuple[str, bytes, str]:
    """The picture as the bot shares it: (file name, PNG, title). The subtitle says how much can be observed and
    when the first field can start, unless one is given (a verdict's line)."""
    title = f"{event_id} · {facility.name.upper()} {instrument.name}: observable in the next {hours:g} h"
    if subtitle is None:
        first = f"first field {seen.first[0]:%H:%M} UTC from {seen.first[1]}" if seen.first else "nothing observable"
        subtitle = f"{100 * seen.probability:.0f}% of the probability observable; {first}"
    return f"{event_id}-{facility.name}-visibility.png", visibility_png(seen, title, subtitle), title


def visibility_png(seen: Observability, title: str, subtitle: str, dpi: int = 100) -> bytes:
    """Probability observable per step over the window, one band per site (stacked), the Sun's twilights (the
    facility's Sun limit crossed) marked per site with a line of the band's colour."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 3.6), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.08, 0.16, 0.72, 0.68))
    hours = np.arange(len(seen.times)) * seen.step_s / 3600.0
    sites = sorted(seen.per_site)
    colours = {code: f"C{i}" for i, code in enumerate(sites)}
    if sites:
        ax.stackplot(hours, [100 * seen.per_site[c] for c in sites], labels=sites,
                     colors=[colours[c] for c in sites], alpha=0.75, step="post")
    for code in sites:  # twilights: where the Sun crosses the limit at this site
        dark = seen.dark[code].astype(int)
        for i in np.flatnonzero(np.diff(dark)) + 1:
            ax.axvline(hours[i], color=colours[code], linestyle=":", linewidth=1.0)
    ax.set_xlim(0, hours[-1] + seen.step_s / 3600.0 if len(hours) else 24)
    ax.set_xlabel(f"hours after {seen.start:%Y-%m-%d %H:%M} UTC (stacked: sites overlap; dotted: twilights)")
    ax.set_ylabel("% observable, per site")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="site", fontsize=8, title_fontsize=8)
    fig.text(0.08, 0.93, title, fontsize=11, weight="bold")
    fig.text(0.08, 0.875, subtitle, fontsize=8.5)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
