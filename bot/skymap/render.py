"""Draw a sky map as a PNG that reads at a glance, even as a 360 px Slack thumbnail.

Left: the whole sky (Mollweide, RA in hours, east to the left) with the 50%
and 90% contours and a box around the zoomed region. Right: an azimuthal
equidistant zoom on the 90% region with an RA/Dec grid. Both panels are
rasterised by inverse projection (each image pixel looks up its HEALPix
pixel), which is fast and exact at any map resolution.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import formatting as fmt
from .crossmatch import angular_separation
from .moc import nested_to_lonlat, uniq_to_order_ipix
from .prepared import PreparedMap
from .summary import Summary

_SQRT2 = np.sqrt(2.0)
_CMAP = LinearSegmentedColormap.from_list("gwbot", ["#ffffff", "#fee8c8", "#fdbb84", "#e34a33", "#7f0000"])
_GRID = dict(color="0.55", linewidth=0.6, alpha=0.8)
_LEVELS = (0.5, 0.9)
_BOX_MAX_RADIUS_DEG = 40.0
_BOX_MIN_RADIUS_DEG = 6.0
_CONTOUR_STYLE = dict(colors="k", linewidths=(1.2, 2.0), linestyles=("--", "-"))


@dataclass(frozen=True)
class Labels:
    """Text drawn on the picture."""

    title: str
    subtitle: str = ""


def _lookup(prepared: PreparedMap, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Density and credible level at positions (radians); NaN outside the map."""
    rank = prepared.rank_of(ra % (2 * np.pi), dec)
    ok = rank >= 0
    r = np.maximum(rank, 0)
    return np.where(ok, prepared.probdensity[r], np.nan), np.where(ok, prepared.cum_prob[r], np.nan)


# --- Mollweide (x right = RA decreasing, centre RA 12h) ---------------------------------------

def _mollweide_inverse(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    theta = np.arcsin(np.clip(y / _SQRT2, -1, 1))
    dec = np.arcsin(np.clip((2 * theta + np.sin(2 * theta)) / np.pi, -1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        lon = np.pi * x / (2 * _SQRT2 * np.cos(theta))
    inside = np.abs(lon) <= np.pi
    return np.pi - lon, dec, inside


def _mollweide_forward(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.pi - np.mod(ra, 2 * np.pi)
    theta = np.array(dec, dtype=float)
    target = np.pi * np.sin(dec)
    for _ in range(50):  # Newton on 2θ + sin 2θ = π sin φ
        f = 2 * theta + np.sin(2 * theta) - target
        d = 2 + 2 * np.cos(2 * theta)
        step = np.where(d > 1e-12, f / np.where(d > 1e-12, d, 1), 0)
        theta = theta - step
        if np.all(np.abs(step) < 1e-10):
            break
    return 2 * _SQRT2 / np.pi * lon * np.cos(theta), _SQRT2 * np.sin(theta)


# --- azimuthal equidistant zoom (x right = east to the left) ----------------------------------

def _aeqd_inverse(x: np.ndarray, y: np.ndarray, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    rho = np.hypot(x, y)
    c = rho
    sin_c, cos_c = np.sin(c), np.cos(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        dec = np.arcsin(np.clip(cos_c * np.sin(dec0) + np.where(rho > 0, y * sin_c * np.cos(dec0) / rho, 0), -1, 1))
    ra = ra0 + np.arctan2(-x * sin_c, rho * np.cos(dec0) * cos_c - y * np.sin(dec0) * sin_c)
    return ra, dec


def _aeqd_forward(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    dra = ra - ra0
    cos_c = np.clip(np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(dra), -1, 1)
    c = np.arccos(cos_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(c > 1e-12, c / np.sin(c), 1.0)
    x = k * np.cos(dec) * np.sin(dra)
    y = k * (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(dra))
    return -x, y


def zoom_region(prepared: PreparedMap, level: float = 0.9) -> tuple[float, float, float]:
    """Centre (RA, Dec) and radius, radians, of a view holding the credible region."""
    n = int(np.searchsorted(prepared.cum_prob, level)) + 1
    order, ipix = uniq_to_order_ipix(prepared.uniq[:n])
    ra, dec = nested_to_lonlat(order, ipix)
    w = prepared.probdensity[:n] * np.pi / 3 / 4.0**order
    xyz = np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)]) @ w
    if np.linalg.norm(xyz) < 1e-9:  # antipodal modes cancel: centre on the most probable pixel
        ra0, dec0 = prepared.mode_ra, prepared.mode_dec
    else:
        ra0 = float(np.arctan2(xyz[1], xyz[0]) % (2 * np.pi))
        dec0 = float(np.arcsin(xyz[2] / np.linalg.norm(xyz)))
    pixel_radius = np.sqrt(np.pi / 3) / 2.0**order
    reach = np.max(angular_separation(ra, dec, ra0, dec0) + pixel_radius)
    return ra0, dec0, float(np.clip(1.15 * reach, np.deg2rad(0.5), np.pi))


def _nice_step(span_deg: float, max_lines: int) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 90):
        if span_deg / step <= max_lines:
            return step
    return 90.0


def _draw_allsky(ax, prepared: PreparedMap, box: tuple[float, float, float], width: int) -> None:
    height = width // 2
    x = np.linspace(-2 * _SQRT2, 2 * _SQRT2, width)
    y = np.linspace(-_SQRT2, _SQRT2, height)
    xx, yy = np.meshgrid(x, y)
    ra, dec, inside = _mollweide_inverse(xx, yy)
    density, level = _lookup(prepared, np.where(inside, ra, 0), np.where(inside, dec, 0))
    density[~inside] = np.nan
    level[~inside] = np.nan
    extent = (x[0], x[-1], y[0], y[-1])
    ax.imshow(np.ma.masked_invalid(density), origin="lower", extent=extent, cmap=_CMAP,
              interpolation="nearest", vmin=0)
    ax.contour(xx, yy, np.where(inside, level, 1.0), levels=_LEVELS, **_CONTOUR_STYLE)
    # graticule: Dec every 30°, RA every 3h (labels every 6h)
    t = np.linspace(-np.pi / 2, np.pi / 2, 181)
    for hours in range(0, 24, 3):
        gx, gy = _mollweide_forward(np.full_like(t, hours * np.pi / 12), t)
        ax.plot(gx, gy, **_GRID)
    s = np.linspace(0, 2 * np.pi, 361)
    for dec_deg in (-60, -30, 0, 30, 60):
        gx, gy = _mollweide_forward(s, np.full_like(s, np.deg2rad(dec_deg)))
        ax.plot(gx, gy, **_GRID)
        ax.text(-2 * _SQRT2 * np.cos(np.arcsin(gy[0] / _SQRT2)) - 0.06, gy[0], f"{dec_deg:+d}°",
                ha="right", va="center", fontsize=11, color="0.3")
    for hours in (6, 12, 18):
        gx, gy = _mollweide_forward(np.array([hours * np.pi / 12]), np.array([0.0]))
        ax.text(gx[0], gy[0] - 0.1, f"{hours}h", ha="center", va="top", fontsize=11, color="0.3")
    # the zoom box, so a small region is still findable on the whole sky
    ra0, dec0, radius = box
    if radius <= np.deg2rad(_BOX_MAX_RADIUS_DEG):
        _draw_box(ax, ra0, dec0, max(radius, np.deg2rad(_BOX_MIN_RADIUS_DEG)))
    ell = np.linspace(0, 2 * np.pi, 361)
    ax.plot(2 * _SQRT2 * np.cos(ell), _SQRT2 * np.sin(ell), color="0.2", linewidth=1.0)
    ax.set_xlim(-2 * _SQRT2 - 0.45, 2 * _SQRT2 + 0.05)
    ax.set_ylim(-_SQRT2 - 0.3, _SQRT2 + 0.05)
    ax.set_aspect("equal")
    ax.axis("off")


def _plot_unwrapped(ax, x: np.ndarray, y: np.ndarray, **style) -> None:
    """Plot a Mollweide curve, split where it wraps around the RA = 12h edge."""
    jumps = np.flatnonzero(np.abs(np.diff(x)) > _SQRT2)
    for seg_x, seg_y in zip(np.split(x, jumps + 1), np.split(y, jumps + 1), strict=True):
        ax.plot(seg_x, seg_y, **style)


def _draw_box(ax, ra0: float, dec0: float, radius: float) -> None:
    a = np.linspace(0, 2 * np.pi, 181)
    cra, cdec = _aeqd_inverse(radius * np.cos(a), radius * np.sin(a), ra0, dec0)
    _plot_unwrapped(ax, *_mollweide_forward(cra, cdec), color="tab:blue", linewidth=1.6)


def field_outline(ra_deg: float, dec_deg: float, fov_deg: tuple[float, float], n: int = 8
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A rectangular field's outline (RA, Dec in radians): its edges in the tangent plane, projected back."""
    w, h = np.deg2rad(fov_deg[0]) / 2, np.deg2rad(fov_deg[1]) / 2
    s = np.linspace(-1, 1, n)
    x = np.concatenate([s * w, np.full(n, w), -s * w, np.full(n, -w)])
    y = np.concatenate([np.full(n, -h), s * h, np.full(n, h), -s * h])
    ra0, dec0 = np.deg2rad(ra_deg), np.deg2rad(dec_deg)
    rho = np.hypot(x, y)
    c = np.arctan(rho)
    with np.errstate(invalid="ignore", divide="ignore"):
        dec = np.arcsin(np.cos(c) * np.sin(dec0) + np.where(rho > 0, y * np.sin(c) * np.cos(dec0) / rho, 0))
    ra = ra0 + np.arctan2(x * np.sin(c), rho * np.cos(dec0) * np.cos(c) - y * np.sin(dec0) * np.sin(c))
    return np.append(ra, ra[0]), np.append(dec, dec[0])


@dataclass(frozen=True)
class Outline:
    """A field or CCD outline to draw (RA, Dec in radians, closed)."""

    ra: np.ndarray
    dec: np.ndarray
    color: str = "tab:blue"
    dashed: bool = False  # planned, not observed


def _draw_fields(ax, outlines: list[Outline], project, linewidth: float) -> None:
    for o in outlines:
        _plot_unwrapped(ax, *project(o.ra, o.dec), color=o.color, linewidth=linewidth, alpha=0.9,
                        linestyle="--" if o.dashed else "-")


def _draw_zoom(ax, prepared: PreparedMap, box: tuple[float, float, float], size: int,
               outlines: list[Outline] | None = None) -> None:
    ra0, dec0, radius = box
    x = np.linspace(-radius, radius, size)
    xx, yy = np.meshgrid(x, x)
    ra, dec = _aeqd_inverse(xx, yy, ra0, dec0)
    density, level = _lookup(prepared, ra, dec)
    extent = (-radius, radius, -radius, radius)
    ax.imshow(np.ma.masked_invalid(density), origin="lower", extent=extent, cmap=_CMAP,
              interpolation="nearest", vmin=0)
    ax.contour(xx, yy, np.nan_to_num(level, nan=1.0), levels=_LEVELS, **_CONTOUR_STYLE)
    span = np.rad2deg(2 * radius)
    step = _nice_step(span, max_lines=7)
    dec_lo = max(-90.0, np.rad2deg(dec0 - radius * 1.5))
    dec_hi = min(90.0, np.rad2deg(dec0 + radius * 1.5))
    t = np.linspace(np.deg2rad(dec_lo), np.deg2rad(dec_hi), 400)
    cosd = max(np.cos(dec0), 0.05)
    ra_step = _nice_step(min(span / cosd, 360.0), max_lines=4)
    ra_span = min(np.rad2deg(radius * 1.5) / cosd, 180.0)
    ra_center = np.rad2deg(ra0)
    first = np.floor((ra_center - ra_span) / ra_step) * ra_step
    for ra_deg in np.arange(first, ra_center + ra_span + ra_step, ra_step):
        gx, gy = _aeqd_forward(np.full_like(t, np.deg2rad(ra_deg)), t, ra0, dec0)
        ax.plot(gx, gy, **_GRID)
        _edge_label(ax, gx, gy, radius, "bottom", f"{ra_deg % 360:g}°")
    s = np.linspace(ra0 - np.pi, ra0 + np.pi, 721)
    for dec_deg in np.arange(np.ceil(dec_lo / step) * step, dec_hi + 1e-9, step):
        gx, gy = _aeqd_forward(s, np.full_like(s, np.deg2rad(dec_deg)), ra0, dec0)
        ax.plot(gx, gy, **_GRID)
        _edge_label(ax, gx, gy, radius, "left", f"{dec_deg:+g}°")
    if outlines:
        _draw_fields(ax, outlines, lambda r, d: _aeqd_forward(r, d, ra0, dec0), 1.0)
    else:
        mx, my = _aeqd_forward(np.array([prepared.mode_ra]), np.array([prepared.mode_dec]), ra0, dec0)
        ax.plot(mx, my, marker="+", color="tab:blue", markersize=14, markeredgewidth=2)
    ax.set_xlim(-radius, radius)
    ax.set_ylim(-radius, radius)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("tab:blue")
        spine.set_linewidth(1.6)


def _edge_label(ax, gx: np.ndarray, gy: np.ndarray, radius: float, edge: str, text: str) -> None:
    """Label a grid line where it leaves the panel through the bottom or left edge."""
    along, across = (gx, gy) if edge == "bottom" else (gy, gx)
    crossing = np.flatnonzero(np.diff(np.sign(across + radius)) != 0)
    crossing = crossing[np.abs(along[crossing]) < radius * 0.92]
    if len(crossing) == 0:
        return
    pos = along[crossing[0]]
    if edge == "bottom":
        ax.text(pos, -radius * 1.02, text, ha="center", va="top", fontsize=10, color="0.3", clip_on=False)
    else:
        ax.text(-radius * 1.02, pos, text, ha="right", va="center", fontsize=10, color="0.3", clip_on=False)


def render_png(prepared: PreparedMap, labels: Labels, dpi: int = 100,
               fields: list[tuple[float, float]] | None = None, fov_deg: tuple[float, float] | None = None,
               footprints: list[Outline] | None = None, legend: dict[str, str] | None = None,
               markers: list[tuple[float, float]] | None = None) -> bytes:
    """The two-panel picture as PNG bytes (1000 x 460 px at the default dpi), with planned fields if given, or
    any footprints (``legend``: label -> colour), and ``markers`` (RA, Dec degrees: candidates) as stars."""
    fig = Figure(figsize=(10, 4.6), dpi=dpi)
    FigureCanvasAgg(fig)
    box = zoom_region(prepared)
    allsky = fig.add_axes((0.0, 0.02, 0.64, 0.76))
    zoom = fig.add_axes((0.69, 0.09, 0.29, 0.69))
    _draw_allsky(allsky, prepared, box, width=640)
    outlines = [Outline(*field_outline(ra, dec, fov_deg)) for ra, dec in fields] if fields and fov_deg \
        else footprints
    _draw_zoom(zoom, prepared, box, size=300, outlines=outlines)
    if outlines:
        _draw_fields(allsky, outlines, _mollweide_forward, 0.6)
    if markers:
        ra, dec = np.deg2rad([m[0] for m in markers]), np.deg2rad([m[1] for m in markers])
        for ax, xy in ((allsky, _mollweide_forward(ra, dec)), (zoom, _aeqd_forward(ra, dec, box[0], box[1]))):
            limits = ax.get_xlim(), ax.get_ylim()
            ax.scatter(*xy, marker="*", s=70, color="#ffd700", edgecolors="k", linewidths=0.6, zorder=5)
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
    fig.text(0.015, 0.955, labels.title, fontsize=24, fontweight="bold", va="top")
    if labels.subtitle:
        fig.text(0.015, 0.855, labels.subtitle, fontsize=16, va="top", color="0.15")
    zoom.set_title(f"{len(fields or [])} fields" if fields and outlines else "90% region", fontsize=11,
                   color="tab:blue", loc="right")
    if legend:
        handles = [Line2D([], [], color=color, label=label) for label, color in legend.items()]
        allsky.legend(handles=handles, loc="lower left", fontsize=8, frameon=False, ncol=2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def labels_for(summary: Summary, event_id: str | None, alert_type: str | None) -> Labels:
    """The standard title and subtitle: event, alert type, 90% area, distance, detectors."""
    title = " · ".join(part for part in (event_id or summary.objid or "sky map", alert_type) if part)
    parts = [f"90%: {fmt.area(summary.area_90_deg2)}", f"50%: {fmt.area(summary.area_50_deg2)}"]
    if summary.distance_mean_mpc is not None:
        parts.append(fmt.distance(summary.distance_mean_mpc, summary.distance_std_mpc))
    if summary.instruments:
        parts.append(" ".join(summary.instruments))
    return Labels(title, "  ·  ".join(parts))
