"""Making a plan end to end (shared by ``gwbot plan`` and ``/gw plan``): facility, fields, picture, validation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config import ConfigError, Settings
from bot.ingest.files import load_catalogue
from bot.plans import facilities as fac
from bot.plans.lco import LCOError, Portal, refresh_instruments, request_group
from bot.plans.planner import Plan, make_plan
from bot.skymap.io import SkymapError
from bot.skymap.prepared import PreparedMap
from bot.skymap.render import Labels, render_png


@dataclass
class PlanResult:
    plan: Plan
    facility: fac.Facility
    instrument: fac.Instrument
    png: bytes
    payload: dict | None  # what would be submitted (LCO request group)
    validation: dict | None  # the portal's answer: request_durations, errors
    validation_note: str

    @property
    def valid(self) -> bool:
        if self.facility.submit != "lco":
            return False
        return self.validation is not None and not self.validation.get("errors")

    def to_dict(self) -> dict[str, Any]:
        p = self.plan
        return {
            "facility": p.facility, "instrument": p.instrument, "filters": list(p.filters),
            "exposure_s": p.exposure_s, "n_fields": len(p.fields), "covered_prob": p.covered_prob,
            "seconds_per_site": p.seconds_per_site, "total_exposure_s": p.total_exposure_s,
            "window_start": p.start.isoformat(), "window_end": p.end.isoformat(),
            "fields": [{"rank": f.rank, "ra_deg": f.ra, "dec_deg": f.dec, "prob": f.prob,
                        "first_site": f.first[0] if f.first else None,
                        "first_start": f.first[1].isoformat() if f.first else None} for f in p.fields],
            "first_windows": {code: start.isoformat() for code, start in first_windows(p).items()},
            "validation": self.validation, "validation_note": self.validation_note, "notes": p.notes,
        }


def first_windows(plan: Plan) -> dict[str, datetime]:
    """For each site, when the first of the plan's fields becomes observable there."""
    out: dict[str, datetime] = {}
    for f in plan.fields:
        for code, (start, _) in f.site_windows.items():
            out[code] = min(out.get(code, start), start)
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def build(prepared: PreparedMap, event_id: str, settings: Settings, facility_name: str, *,
          instrument: str | None = None, filters: tuple[str, ...] | None = None, exposure_s: float = 300.0,
          n_fields: int | None = None, hours: float = 24.0, start: datetime | None = None,
          validate: bool = True, galaxies: bool | str = False) -> PlanResult:
    """``galaxies``: True for the catalogue in GWBOT_GALAXY_CATALOGUE, or a catalogue file's path."""
    facility = fac.lookup({"facilities": list(settings.facility_tables)}, facility_name)
    refreshed = ""
    if facility.submit == "lco" and settings.lco_api_token:
        facility, refreshed = _refreshed(facility, settings)
    inst = facility.instrument(instrument)
    catalogue = None
    if galaxies:
        path = galaxies if isinstance(galaxies, str) else settings.galaxy_catalogue
        if not path:
            raise ConfigError("no galaxy catalogue: set GWBOT_GALAXY_CATALOGUE (CSV or FITS with ra, dec, distance)")
        try:
            catalogue = load_catalogue(path)
        except SkymapError as exc:
            raise ConfigError(str(exc)) from None
    start = start or datetime.now(UTC)
    semester_note = ""
    if facility.submit == "lco" and settings.lco_api_token:
        hours, semester_note = _within_semester(settings, start, hours)
    try:
        plan = make_plan(prepared, facility, inst, start=start, hours=hours,
                         exposure_s=exposure_s, filters=filters, n_fields=n_fields, galaxies=catalogue,
                         complete_to_mpc=settings.galaxy_complete_to_mpc)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    png = render_png(prepared, Labels(f"{event_id} · {facility.name.upper()} plan",
                                      f"{len(plan.fields)} fields · {inst.name} · {plan.covered_prob:.1%} covered"),
                     fields=[(f.ra, f.dec) for f in plan.fields], fov_deg=inst.fov_deg)
    payload = validation = None
    note = "nothing to submit: this facility takes plans by hand"
    if facility.submit == "lco" and plan.fields:
        payload = request_group(plan, event_id, facility, inst, settings.lco_proposal_id or "(LCO_PROPOSAL_ID unset)",
                                settings.lco_ipp_value, settings.lco_observation_type)
        if not (settings.lco_api_token and settings.lco_proposal_id):
            note = "not validated: set LCO_API_TOKEN and LCO_PROPOSAL_ID to validate and submit"
        elif not validate:
            note = "not validated"
        else:
            try:
                validation = Portal(settings.lco_api_url, settings.lco_api_token).validate(payload)
                note = "validated by LCO" if not validation.get("errors") else "LCO found errors"
            except LCOError as exc:
                note = f"could not validate: {exc}"
    plan.notes.extend(n for n in (refreshed, semester_note) if n)
    return PlanResult(plan, facility, inst, png, payload, validation, note)


_SEMESTER_END: dict[str, datetime] = {}


def _within_semester(settings: Settings, start: datetime, hours: float) -> tuple[float, str]:
    """LCO takes no window that crosses a semester boundary: cut the window at the semester's end."""
    end = _SEMESTER_END.get(settings.lco_api_url)
    if end is None or not start < end:
        try:
            end = Portal(settings.lco_api_url, settings.lco_api_token or "").semester_end(start)
        except LCOError as exc:
            return hours, f"semester not checked ({exc})"
        if end is None:
            return hours, "no LCO semester contains the window start"
        _SEMESTER_END[settings.lco_api_url] = end
    left = (end - start).total_seconds() / 3600
    if left >= hours:
        return hours, ""
    return max(left, 0.0), f"window cut at the end of the LCO semester ({end:%Y-%m-%d %H:%M} UTC)"


_CATALOGUE: dict[str, tuple[float, dict]] = {}
CATALOGUE_SECONDS = 3600.0


def _refreshed(facility: fac.Facility, settings: Settings) -> tuple[fac.Facility, str]:
    """LCO's current instrument list (cached for an hour); the built-in one when LCO cannot be reached."""
    cached = _CATALOGUE.get(settings.lco_api_url)
    if cached is None or time.monotonic() - cached[0] > CATALOGUE_SECONDS:
        try:
            cached = (time.monotonic(), Portal(settings.lco_api_url, settings.lco_api_token).instruments())
        except LCOError as exc:
            return facility, f"instrument list not refreshed from LCO ({exc})"
        _CATALOGUE[settings.lco_api_url] = cached
    facility, changes = refresh_instruments(facility, cached[1])
    return facility, ("instruments refreshed from LCO: " + "; ".join(changes)) if changes else ""
