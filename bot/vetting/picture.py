"""The evidence picture of one candidate: its light curve (every detection and limit, per band, against time since
the merger, the merger marked) beside the science, template and difference cutouts with the position marked.
One matplotlib figure drawn straight to PNG (no pyplot state), small enough to stay well under half a second."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from bot.brokers.record import Cutouts, Point

from .cutouts import image

__all__ = ["BAND_COLOURS", "evidence_png"]

BAND_COLOURS = {"u": "#56b4e9", "g": "#009e73", "r": "#d55e00", "i": "#8c564b", "z": "#7f7f7f", "y": "#000000",
                "o": "#e69f00", "c": "#0072b2"}
DPI = 90


def _stretch(data: np.ndarray) -> np.ndarray:
    """Percentile limits (0.5-99.5%) and an arcsinh stretch: faint hosts and bright cores both visible."""
    finite = data[np.isfinite(data)]
    if not finite.size:
        return np.zeros_like(data)
    lo, hi = np.percentile(finite, [0.5, 99.5])
    scaled = np.clip((np.nan_to_num(data, nan=lo) - lo) / max(hi - lo, 1e-12), 0, 1)
    return np.arcsinh(10 * scaled) / np.arcsinh(10)


def _light_curve(ax, points: Sequence[Point], merger_mjd: float | None) -> None:
    zero = merger_mjd if merger_mjd is not None else min((p.mjd for p in points), default=0.0)
    days = max((p.mjd - zero for p in points), default=1.0) > 3
    scale = 1.0 if days else 24.0
    for band in sorted({p.band for p in points}):
        colour = BAND_COLOURS.get(band, "#444444")
        det = [p for p in points if p.band == band and not p.limit]
        lim = [p for p in points if p.band == band and p.limit]
        if det:
            ax.errorbar([(p.mjd - zero) * scale for p in det], [p.mag for p in det],
                        yerr=[p.err or 0.0 for p in det], fmt="o", ms=4, color=colour, label=band, capsize=0)
        if lim:
            ax.scatter([(p.mjd - zero) * scale for p in lim], [p.mag for p in lim], marker="v", s=18,
                       color=colour, alpha=0.45, label=None if det else f"{band} (limits)")
    if merger_mjd is not None:
        ax.axvline(0.0, color="k", lw=1, ls="--")
        ax.text(0.0, 1.01, " merger", transform=ax.get_xaxis_transform(), fontsize=7, va="bottom")
    ax.invert_yaxis()
    ax.set_xlabel(f"{'days' if days else 'hours'} since {'the merger' if merger_mjd is not None else 'first point'}",
                  fontsize=8)
    ax.set_ylabel("AB mag", fontsize=8)
    ax.tick_params(labelsize=7)
    if points:
        ax.legend(fontsize=7, loc="best", frameon=False)
    else:
        ax.text(0.5, 0.5, "no photometry in the alerts", ha="center", va="center", transform=ax.transAxes)


def _cutout(ax, data: bytes | None, title: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)
    img = image(data)
    if img is None:
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        return
    ax.imshow(_stretch(img), origin="lower", cmap="gray", interpolation="nearest")
    h, w = img.shape
    cx, cy, gap, arm = (w - 1) / 2, (h - 1) / 2, 0.08 * w, 0.2 * w
    for x0, x1, y0, y1 in ((cx - gap - arm, cx - gap, cy, cy), (cx + gap, cx + gap + arm, cy, cy),
                           (cx, cx, cy - gap - arm, cy - gap), (cx, cx, cy + gap, cy + gap + arm)):
        ax.plot([x0, x1], [y0, y1], color="#ff3030", lw=1.2)


def evidence_png(title: str, points: Sequence[Point], cutouts: Cutouts | None, merger_mjd: float | None) -> bytes:
    """PNG bytes of the candidate's evidence picture."""
    fig = Figure(figsize=(10.0, 3.0), dpi=DPI)
    grid = fig.add_gridspec(1, 5, width_ratios=[2.4, 0.05, 1, 1, 1], wspace=0.12, left=0.06, right=0.99,
                            bottom=0.16, top=0.86)
    _light_curve(fig.add_subplot(grid[0, 0]), points, merger_mjd)
    for i, (name, data) in enumerate((("science", cutouts.science if cutouts else None),
                                      ("template", cutouts.template if cutouts else None),
                                      ("difference", cutouts.difference if cutouts else None))):
        _cutout(fig.add_subplot(grid[0, 2 + i]), data, name)
    fig.suptitle(title, fontsize=9)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
