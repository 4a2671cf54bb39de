"""Observation plans: tile the localization with a facility's fields and schedule them on its telescopes.

Plain functions over arrays. The sky is cut into cells, one per field: Dec
bands one field high, RA steps one field wide at the band's equatorward
edge, so each cell lies inside the footprint of the field centred on it.
The map's probability is integrated over each cell on a grid of sample
points finer than the field, so the probability of a set of fields is the sum
over their cells: overlaps are counted once. Every cell with probability is a
candidate (no fixed cut, no fixed cap); :mod:`bot.plans.schedule` gives each
field it can fit a site, a telescope and a start time inside the window, and
the plan's coverage is the probability of exactly those fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from bot.plans.facilities import Facility, FieldList, Instrument, Site
from bot.plans.schedule import Revisit, Slot, schedule, why_nothing
from bot.skymap import moc
from bot.skymap.prepared import PreparedMap

STEP_MINUTES = 10
#: Default time between a field's first visit and its revisit: enough for an asteroid to move off the position
#: (~15 arcsec at 0.25 deg/day) and for the pair to show a fading kilonova's colour change.
REVISIT_GAP_MINUTES = 30.0
J2000_JD = 2451545.0


@dataclass(frozen=True)
class Cells:
    """Candidate field centres (degrees) and the probability inside each cell (``raw``: before any weight)."""

    ra: np.ndarray
    dec: np.ndarray
    prob: np.ndarray
    raw: np.ndarray


@dataclass(frozen=True)
class Field:
    rank: int
    ra: float
    dec: float
    prob: float  # the probability it adds to the fields before it
    slot: Slot  # where and when it is taken
    name: str | None = None  # the facility's own field ID, on a facility with a field grid
    filters: tuple[str, ...] = ()
    exposures: int = 1  # exposures in this visit (filters taken one after another)
    revisit_of: int | None = None  # a revisit: the rank of the field's first visit


@dataclass(frozen=True)
class Plan:
    facility: str
    instrument: str
    filters: tuple[str, ...]
    exposure_s: float
    start: datetime
    end: datetime
    fields: list[Field]
    covered_prob: float  # the union of the scheduled fields
    seconds_per_site: dict[str, float]
    notes: list[str] = field(default_factory=list)
    unscheduled_prob: float = 0.0  # observable in the window, but no telescope time was left for it
    gross_prob: float | None = None  # with a weight: the fields' probability before it (covered_prob is after)
    revisit: str | None = None  # the filter each field is observed in again
    revisit_gap_s: float | None = None  # the least time from a first visit's end to its revisit

    @property
    def total_exposure_s(self) -> float:
        return self.exposure_s * sum(f.exposures for f in self.fields)

    @property
    def first_visits(self) -> list[Field]:
        return [f for f in self.fields if f.revisit_of is None]


# --- where the probability is --------------------------------------------------------------------

def sample_points(prepared: PreparedMap, max_spacing_deg: float, level: float = 0.999
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RA, Dec, probability) of points no farther apart than ``max_spacing_deg``, over the ``level`` region."""
    k = min(int(np.searchsorted(prepared.cum_prob, level)) + 1, len(prepared.uniq))
    order, ipix = moc.uniq_to_order_ipix(prepared.uniq[:k])
    target = int(np.clip(np.ceil(np.log2(np.sqrt(np.pi / 3) / np.deg2rad(max_spacing_deg))), 0, moc.MAX_ORDER))
    target = max(target, int(order.max()) if np.any(order > target) else target)
    depth = np.maximum(target - order, 0)
    children = 4 ** depth
    first = ipix << (2 * depth)
    child = np.repeat(first, children) + (np.arange(children.sum()) - np.repeat(np.cumsum(children) - children,
                                                                                children))
    child_order = np.repeat(order + depth, children)
    ra, dec = moc.nested_to_lonlat(child_order, child)
    prob = np.repeat(prepared.probdensity[:k] * moc.pixel_area_sr(order + depth), children)
    return np.rad2deg(ra), np.rad2deg(dec), prob


def band_layout(fov_w: float, fov_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Dec band edges, and the number of RA steps in each band."""
    n_bands = int(np.ceil(180.0 / fov_h))
    edges = np.linspace(-90.0, 90.0, n_bands + 1)
    equatorward = np.where(edges[:-1] * edges[1:] <= 0, 0.0, np.minimum(np.abs(edges[:-1]), np.abs(edges[1:])))
    n_ra = np.maximum(1, np.ceil(360.0 * np.cos(np.deg2rad(equatorward)) / fov_w)).astype(int)
    return edges, n_ra


Weight = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (RA, Dec) degrees -> what a position's probability is worth


def tile(prepared: PreparedMap, fov_deg: tuple[float, float], weight: Weight | None = None) -> Cells:
    """Probability in every cell of the field grid that holds any (times ``weight``: 0 where the sky is
    already covered)."""
    fov_w, fov_h = fov_deg
    ra, dec, raw = sample_points(prepared, min(fov_w, fov_h) / 4)
    prob = raw * weight(ra, dec) if weight is not None else raw
    edges, n_ra = band_layout(fov_w, fov_h)
    band = np.clip(np.searchsorted(edges, dec, side="right") - 1, 0, len(n_ra) - 1)
    step = 360.0 / n_ra[band]
    col = np.minimum((ra % 360.0) // step, n_ra[band] - 1).astype(np.int64)
    key = band.astype(np.int64) * 100_000 + col
    keys, inverse = np.unique(key, return_inverse=True)
    cell_prob = np.bincount(inverse, weights=prob)
    cell_raw = np.bincount(inverse, weights=raw) if weight is not None else cell_prob
    cell_band, cell_col = keys // 100_000, keys % 100_000
    cell_ra = (cell_col + 0.5) * 360.0 / n_ra[cell_band]
    cell_dec = 0.5 * (edges[cell_band] + edges[cell_band + 1])
    return Cells(cell_ra, cell_dec, cell_prob, cell_raw)


# --- what a site can see -----------------------------------------------------------------------------

def _jd(times: list[datetime]) -> np.ndarray:
    return np.array([t.timestamp() / 86400.0 + 2440587.5 for t in times])


def _gmst_deg(jd: np.ndarray) -> np.ndarray:
    """Greenwich mean sidereal time (IAU 1982, UT1 ~ UTC: good to a few arcseconds here)."""
    t = (jd - J2000_JD) / 36525.0
    return (280.46061837 + 360.98564736629 * (jd - J2000_JD) + 0.000387933 * t**2 - t**3 / 38710000.0) % 360.0


def _alt(ra: np.ndarray, dec: np.ndarray, lst_deg: np.ndarray, lat_deg: float) -> np.ndarray:
    """Altitude (deg), element by element (broadcasting)."""
    h, d, phi = np.deg2rad(lst_deg - ra), np.deg2rad(dec), np.deg2rad(lat_deg)
    return np.rad2deg(np.arcsin(np.clip(np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(h), -1, 1)))


def _altitude(ra: np.ndarray, dec: np.ndarray, lst_deg: np.ndarray, lat_deg: float) -> np.ndarray:
    """Altitude (deg) of (ra, dec) [N] at local sidereal times [T] -> [N, T]."""
    return np.rad2deg(np.arcsin(np.clip(_sin_altitude(ra, dec, lst_deg, lat_deg), -1, 1)))


def _sin_altitude(ra: np.ndarray, dec: np.ndarray, lst_deg: np.ndarray, lat_deg: float) -> np.ndarray:
    """sin(altitude) [N, T], as sums of outer products: no trigonometry on the [N, T] grid."""
    r, d, t, phi = np.deg2rad(ra), np.deg2rad(dec), np.deg2rad(lst_deg), np.deg2rad(lat_deg)
    cos_d = np.cos(d)
    # cos(LST - RA) = cos LST cos RA + sin LST sin RA
    return (np.sin(phi) * np.sin(d))[:, None] + np.cos(phi) * (
        (cos_d * np.cos(r))[:, None] * np.cos(t)[None, :] + (cos_d * np.sin(r))[:, None] * np.sin(t)[None, :])


def moon_far(ra: np.ndarray, dec: np.ndarray, bodies: tuple[np.ndarray, ...], min_sep_deg: float) -> np.ndarray:
    """[N, T]: farther from the Moon than ``min_sep_deg`` (geocentric Moon: good to ~1°, its parallax)."""
    moon_ra, moon_dec = np.deg2rad(bodies[2]), np.deg2rad(bodies[3])
    r, d = np.deg2rad(ra), np.deg2rad(dec)
    cos_sep = (np.sin(d)[:, None] * np.sin(moon_dec)[None, :]
               + (np.cos(d) * np.cos(r))[:, None] * (np.cos(moon_dec) * np.cos(moon_ra))[None, :]
               + (np.cos(d) * np.sin(r))[:, None] * (np.cos(moon_dec) * np.sin(moon_ra))[None, :])
    return cos_sep <= np.cos(np.deg2rad(min_sep_deg))


def sun_moon(times: list[datetime]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(RA, Dec) in degrees of the Sun and the Moon at each time, on the mean equator and equinox of the
    window's start (what the sidereal time is measured from)."""
    from astropy.coordinates import PrecessedGeocentric, get_body, get_sun
    from astropy.time import Time

    t = Time(times)
    frame = PrecessedGeocentric(equinox=t[0], obstime=t)  # geocentric: the Sun and Moon keep their directions
    sun, moon = get_sun(t).transform_to(frame), get_body("moon", t).transform_to(frame)
    return sun.ra.deg, sun.dec.deg, moon.ra.deg, moon.dec.deg


def of_date(ra: np.ndarray, dec: np.ndarray, when: datetime) -> tuple[np.ndarray, np.ndarray]:
    """ICRS positions (the map's) on the mean equator and equinox of ``when``: 25 years of precession move
    RA by ~0.35°, enough to misjudge an airmass limit."""
    import astropy.units as u
    from astropy.coordinates import PrecessedGeocentric, SkyCoord
    from astropy.time import Time

    t = Time(when)
    moved = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs").transform_to(PrecessedGeocentric(equinox=t, obstime=t))
    return moved.ra.deg, moved.dec.deg


def conditions(ra: np.ndarray, dec: np.ndarray, site: Site, facility: Facility, times: list[datetime],
               bodies: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """At each time: dark [T]; and per field [N, T]: low enough airmass."""
    lst = (_gmst_deg(_jd(times)) + site.lon_deg) % 360.0
    limits = facility.limits
    dark = _alt(bodies[0], bodies[1], lst, site.lat_deg) <= limits.sun_altitude_max_deg  # the Sun at each time
    high = _sin_altitude(ra, dec, lst, site.lat_deg) >= 1.0 / limits.airmass_max  # sin(alt) = 1 / airmass
    return dark, high


def visible(ra: np.ndarray, dec: np.ndarray, facility: Facility, sites: list[Site] | tuple[Site, ...],
            times: list[datetime]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray,
                                             dict[str, np.ndarray]]:
    """Where and when each field (centres in degrees, J2000) can be observed, at the ends of the steps ``times``:
    per site dark [T] and high enough [N, T]; far enough from the Moon [N]; and ``ok`` per site [N, T-1]: all
    three all through each step."""
    bodies = sun_moon(times)
    ra_now, dec_now = of_date(ra, dec, times[0])
    far = moon_far(ra_now, dec_now, bodies, facility.limits.moon_separation_min_deg)
    dark, high, ok = {}, {}, {}
    for site in sites:
        dark[site.code], high[site.code] = conditions(ra_now, dec_now, site, facility, times, bodies)
        mask = dark[site.code][None, :] & high[site.code] & far
        ok[site.code] = mask[:, :-1] & mask[:, 1:]  # all through each step
    return dark, high, far, ok


def cells_for(prepared: PreparedMap, facility: Facility, instrument: Instrument, weight: Weight | None = None
              ) -> tuple[Cells, np.ndarray | None]:
    """The sky cut into the instrument's fields: the facility's own grid (with field names) or tiles."""
    grid = facility.fields()
    if grid is not None:  # the facility's own fields (ZTF's official grid), on the instrument's real CCDs
        cells, ids = grid_cells(prepared, grid, instrument.boxes(), weight)
        return cells, np.array([f"{facility.name.upper()} field {i}" for i in ids])
    return tile(prepared, instrument.fov_deg, weight), None


# --- the plan ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Catalogue:
    """Galaxies: positions in degrees and luminosity distances in Mpc."""

    ra: np.ndarray
    dec: np.ndarray
    distance: np.ndarray


Box = tuple[float, float, float, float]  # a CCD: x0, x1, y0, y1 in the tangent plane about the pointing (degrees)


def in_boxes(ra: np.ndarray, dec: np.ndarray, ra0, dec0, boxes: list[Box]) -> np.ndarray:
    """Which positions (degrees) fall on a CCD of a field centred on (ra0, dec0), by gnomonic projection;
    ``ra0``/``dec0`` may be arrays, one centre per position."""
    r, d, r0, d0 = np.deg2rad(ra), np.deg2rad(dec), np.deg2rad(ra0), np.deg2rad(dec0)
    cos_c = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.rad2deg(np.cos(d) * np.sin(r - r0) / cos_c)
        y = np.rad2deg((np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(r - r0)) / cos_c)
    on = np.zeros(np.broadcast(x, y).shape, dtype=bool)
    for x0, x1, y0, y1 in boxes:
        on |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return (cos_c > 0) & on


def in_field(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float, fov: tuple[float, float]) -> np.ndarray:
    """Which positions (degrees) fall inside a rectangular field centred on (ra0, dec0)."""
    return in_boxes(ra, dec, ra0, dec0, [(-fov[0] / 2, fov[0] / 2, -fov[1] / 2, fov[1] / 2)])


def _spacing(boxes: list[Box]) -> float:
    """Sample finer than the smallest CCD (and its gaps are then sampled too)."""
    return min(min(x1 - x0, y1 - y0) for x0, x1, y0, y1 in boxes) / 8


def footprint_probability(prepared: PreparedMap, centres: list[tuple[float, float]], boxes: list[Box],
                          weight: Weight | None = None) -> tuple[float, list[float]]:
    """Probability in the union of the fields, and what each adds to those before it (sampled finer than a CCD)."""
    ra, dec, prob = sample_points(prepared, _spacing(boxes))
    if weight is not None:
        prob = prob * weight(ra, dec)
    reach = np.cos(np.deg2rad(max(np.hypot(max(abs(b[0]), abs(b[1])), max(abs(b[2]), abs(b[3]))) for b in boxes)))
    xyz = _unit(ra, dec)
    union = np.zeros(len(ra), dtype=bool)
    each = []
    for ra0, dec0 in centres:
        near = np.flatnonzero(xyz @ _unit(np.array([ra0]), np.array([dec0]))[0] >= reach - 1e-9)
        inside = near[in_boxes(ra[near], dec[near], ra0, dec0, boxes)]
        each.append(float(prob[inside[~union[inside]]].sum()))
        union[inside] = True
    return float(prob[union].sum()), each


def _unit(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    r, d = np.deg2rad(ra), np.deg2rad(dec)
    return np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], -1)


def grid_cells(prepared: PreparedMap, fields: FieldList, boxes: list[Box], weight: Weight | None = None
               ) -> tuple[Cells, np.ndarray]:
    """A facility's own fields as cells: each sample point belongs to the nearest field whose CCDs hold it (none
    in every field's gaps), so the cells' probabilities add up without counting an overlap twice. Returns the
    cells of the fields holding any probability, and their field IDs."""
    ra, dec, raw = sample_points(prepared, _spacing(boxes))
    prob = raw * weight(ra, dec) if weight is not None else raw
    from scipy.spatial import cKDTree

    owner = np.full(len(ra), -1)
    k = min(4, len(fields.ra))
    _, nearest = cKDTree(_unit(fields.ra, fields.dec)).query(_unit(ra, dec), k=k)  # nearest first
    nearest = nearest.reshape(len(ra), k)
    for j in range(k):
        f = nearest[:, j]
        hit = (owner < 0) & in_boxes(ra, dec, fields.ra[f], fields.dec[f], boxes)
        owner[hit] = f[hit]
    on = owner >= 0
    n = len(fields.ra)
    cell_prob = np.bincount(owner[on], weights=prob[on], minlength=n)
    cell_raw = np.bincount(owner[on], weights=raw[on], minlength=n)
    keep = np.flatnonzero(cell_raw > 0)
    return Cells(fields.ra[keep], fields.dec[keep], cell_prob[keep], cell_raw[keep]), fields.ids[keep]


def galaxy_fields(prepared: PreparedMap, catalogue: Catalogue, fov: tuple[float, float]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Field centres on galaxies, ranked by the 3D probability density at the galaxies they hold.

    The best galaxy not yet in a field gets a field centred on it; every galaxy inside that field is
    counted for it. Returns (ra, dec, score) in rank order.
    """
    from bot.skymap.crossmatch import crossmatch

    result = crossmatch(prepared, catalogue.ra, catalogue.dec, catalogue.distance)
    keep = (result.credible_level <= 0.99) & np.isfinite(result.probdensity_vol_per_mpc3)
    ra, dec, score = catalogue.ra[keep], catalogue.dec[keep], result.probdensity_vol_per_mpc3[keep]
    free = np.ones(len(ra), dtype=bool)
    out = []
    for i in np.argsort(-score, kind="stable"):
        if not free[i]:
            continue
        members = free & in_field(ra, dec, ra[i], dec[i], fov)
        free &= ~members
        out.append((ra[i], dec[i], float(score[members].sum())))
    if not out:
        return np.array([]), np.array([]), np.array([])
    a = np.array(out)
    return a[:, 0], a[:, 1], a[:, 2]


def distance_beyond(prepared: PreparedMap, distance_mpc: float) -> float:
    """Probability that the source is farther than ``distance_mpc`` (marginalised over the sky)."""
    from bot.skymap import distance

    skymap = prepared.skymap
    order, _ = moc.uniq_to_order_ipix(skymap.uniq)
    prob = skymap.probdensity * moc.pixel_area_sr(order)
    if skymap.distmu is None or skymap.distsigma is None:
        return 0.0
    cdf = distance.conditional_cdf(np.asarray(distance_mpc), skymap.distmu, skymap.distsigma)
    return float(np.nansum(prob * (1 - cdf)))


def make_plan(prepared: PreparedMap, facility: Facility, instrument: Instrument, *, start: datetime,
              hours: float = 24.0, exposure_s: float = 300.0, filters: tuple[str, ...] | None = None,
              n_fields: int | None = None, galaxies: Catalogue | None = None,
              complete_to_mpc: float | None = None, weight: Weight | None = None,
              revisit: str | None = None, revisit_gap_min: float = REVISIT_GAP_MINUTES) -> Plan:
    """A schedule of the localization's fields on the facility's telescopes in the window (at most ``n_fields``).

    With ``galaxies``, fields centred on catalogued galaxies (ranked by the 3D probability along their line of
    sight) are scheduled before the tiles that fill what they leave; when the catalogue (complete to
    ``complete_to_mpc``) misses most of the distance posterior, or the map has no distance, it tiles.
    With ``weight``, each position's probability counts only as much as it is worth (others' coverage
    subtracted), and the plan's probabilities are the new probability it adds.
    With ``revisit`` (a filter), every field is observed again in that filter at least ``revisit_gap_min``
    minutes after its first visit (the revisits add no probability).
    """
    filters = tuple(filters or instrument.default_filters)
    instrument.check_filters(filters + ((revisit,) if revisit else ()))
    step = timedelta(minutes=STEP_MINUTES)
    n_steps = max(1, int(np.ceil(hours * 60 / STEP_MINUTES)))
    times = [start + i * step for i in range(n_steps + 1)]  # the ends of the steps
    end = start + timedelta(hours=hours)
    notes: list[str] = []
    grid, boxes = facility.fields(), instrument.boxes()
    cells, names = cells_for(prepared, facility, instrument, weight)
    by_prob = np.argsort(-cells.prob, kind="stable")
    by_prob = by_prob[cells.prob[by_prob] > 0]
    ra, dec, value, raw = cells.ra[by_prob], cells.dec[by_prob], cells.prob[by_prob], cells.raw[by_prob]
    names = names[by_prob] if names is not None else None
    if galaxies is not None and grid is not None:
        notes.append(f"{facility.name.upper()} observes its own field grid: galaxies are not targeted")
        galaxies = None
    galaxy_mode = galaxies is not None and _galaxies_usable(prepared, complete_to_mpc, notes)
    if galaxy_mode and galaxies is not None:
        g_ra, g_dec, g_score = galaxy_fields(prepared, galaxies, instrument.fov_deg)
        notes.append(f"galaxy-targeted: {len(g_ra)} candidate fields on catalogued galaxies, then tiles")
        covered_by_galaxy = np.zeros(len(ra), dtype=bool)
        for ra0, dec0 in zip(g_ra, g_dec, strict=True):  # a tile whose centre a galaxy field covers is not needed
            covered_by_galaxy |= in_field(ra, dec, ra0, dec0, instrument.fov_deg)
        # galaxies first, best first: their score is a density, so rank them above every tile
        rank_value = 2.0 + np.linspace(1.0, 0.0, len(g_ra)) if len(g_ra) else np.array([])
        keep = ~covered_by_galaxy
        ra, dec = np.concatenate([g_ra, ra[keep]]), np.concatenate([g_dec, dec[keep]])
        value = np.concatenate([rank_value, value[keep]])
        raw = np.concatenate([np.zeros(len(g_ra)), raw[keep]])
    sites = facility.sites_for(instrument)
    dark, high, far, ok = visible(ra, dec, facility, sites, times)

    def visit_s(these: tuple[str, ...]) -> float:
        return instrument.exposures(these) * (exposure_s + instrument.readout_s) + instrument.setup_s

    again = Revisit(revisit_gap_min * 60.0, visit_s((revisit,))) if revisit else None
    telescopes = {site.code: instrument.telescopes.get(site.code, 1) for site in sites}
    plan_schedule = schedule(value, ok, telescopes, start, STEP_MINUTES * 60.0, visit_s(filters), n_fields, again)
    picks = plan_schedule.picks
    firsts = [j for j, slot in picks if slot.visit == 1]
    gross = None
    if galaxy_mode or grid is not None:  # fields that may overlap: the union, each field's share in order
        centres = [(ra[j], dec[j]) for j in firsts]
        covered, each = footprint_probability(prepared, centres, boxes, weight)
        if weight is not None:
            gross = footprint_probability(prepared, centres, boxes)[0]
    else:
        each = [float(value[j]) for j in firsts]
        covered = float(sum(each))
        gross = float(sum(raw[j] for j in firsts)) if weight is not None else None
    fields = _fields(picks, dict(zip(firsts, each, strict=True)), ra, dec, names, filters, revisit, instrument)
    if not fields:
        limits = facility.limits
        notes.append("nothing can be observed: " + why_nothing(
            dark, high, far, visit_s(filters), STEP_MINUTES * 60.0, limits.sun_altitude_max_deg, limits.airmass_max,
            limits.moon_separation_min_deg))
    elif plan_schedule.unscheduled_prob > 0.001 and not galaxy_mode:
        notes.append(f"{plan_schedule.unscheduled_prob:.1%} more is observable in the window but did not fit "
                     "the telescopes' time" + (f" (or the {n_fields}-field limit)" if n_fields else "")
                     + (" with its revisit" if revisit else ""))
    if plan_schedule.missed_revisits:
        notes.append(f"{plan_schedule.missed_revisits} field(s) found no telescope time for their {revisit} revisit")
    total_prob = float(np.sum(cells.prob))
    if total_prob < 0.99 and weight is None:
        notes.append(f"the {'fields hold' if grid is not None else 'tiled region holds'} {total_prob:.3f} of the "
                     "probability" + (" (the rest is in the CCD gaps or outside the grid)" if grid is not None else ""))
    return Plan(facility.name, instrument.name, filters, exposure_s, start, end, fields, covered,
                plan_schedule.seconds_per_site, notes, 0.0 if galaxy_mode else plan_schedule.unscheduled_prob, gross,
                revisit, again.gap_s if again else None)


def _fields(picks: list[tuple[int, Slot]], prob: dict[int, float], ra: np.ndarray, dec: np.ndarray,
            names: np.ndarray | None, filters: tuple[str, ...], revisit: str | None, instrument: Instrument
            ) -> list[Field]:
    """The schedule's slots as fields, in time order: a first visit carries the probability it adds, its
    revisit none (and the rank of the first visit)."""
    out: list[Field] = []
    first_rank: dict[int, int] = {}
    for rank, (j, slot) in enumerate(picks, 1):
        these = filters if slot.visit == 1 else (revisit or "",)
        if slot.visit == 1:
            first_rank[j] = rank
        out.append(Field(rank, float(ra[j]), float(dec[j]), prob[j] if slot.visit == 1 else 0.0, slot,
                         str(names[j]) if names is not None else None, these, instrument.exposures(these),
                         first_rank[j] if slot.visit == 2 else None))
    return out


def _galaxies_usable(prepared: PreparedMap, complete_to_mpc: float | None, notes: list[str]) -> bool:
    if not prepared.skymap.has_distance:
        notes.append("this sky map has no distance: tiling instead of targeting galaxies")
        return False
    if complete_to_mpc is not None:
        beyond = distance_beyond(prepared, complete_to_mpc)
        if beyond > 0.5:
            notes.append(f"the catalogue is complete to {complete_to_mpc:g} Mpc but {beyond:.0%} of the distance"
                         " posterior lies beyond: tiling instead of targeting galaxies")
            return False
    return True
