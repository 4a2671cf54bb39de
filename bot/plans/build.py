"""Making a plan end to end (shared by ``gwbot plan`` and ``/gw plan``): facility, fields, picture, validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bot.config import Settings
from bot.coordination.bands import band_for, family_of
from bot.coordination.coverage import Coverage, Summary, summarize
from bot.ingest.files import load_catalogue
from bot.plans import facilities as fac
from bot.plans.errors import PlanError
from bot.plans.planner import Plan, make_plan, sample_points
from bot.plans.portals import submitter_for
from bot.plans.request import PlanRequest
from bot.plans.submitter import Submitter
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
    validation_errors: list[str]  # the portal's errors, in words
    others: Summary | None = None  # others' coverage, when it was subtracted
    gross_prob: float | None = None  # the plan's fields' probability before subtraction

    @property
    def valid(self) -> bool:
        """Checked by the facility's portal and found good: only then can it be approved and submitted."""
        return self.payload is not None and self.validation is not None and not self.validation.get("errors")

    def to_dict(self) -> dict[str, Any]:
        p = self.plan
        return {
            "facility": p.facility, "instrument": p.instrument, "filters": list(p.filters),
            "exposure_s": p.exposure_s, "n_fields": len(p.first_visits), "covered_prob": p.covered_prob,
            "revisit": p.revisit, "revisit_gap_s": p.revisit_gap_s, "n_revisits": len(p.fields) - len(p.first_visits),
            "seconds_per_site": p.seconds_per_site, "total_exposure_s": p.total_exposure_s,
            "window_start": p.start.isoformat(), "window_end": p.end.isoformat(),
            "unscheduled_prob": p.unscheduled_prob,
            "fields": [{"rank": f.rank, "ra_deg": f.ra, "dec_deg": f.dec, "prob": f.prob, "site": f.slot.site,
                        **({"field_id": f.name} if f.name else {}),
                        "telescope": f.slot.telescope, "start": _iso(f.slot.start), "end": _iso(f.slot.end),
                        "filter": ",".join(f.filters), "exposure_s": p.exposure_s,
                        **({"revisit_of": f.revisit_of} if f.revisit_of is not None else {})} for f in p.fields],
            "first_windows": {code: start.isoformat() for code, start in first_windows(p).items()},
            "validation": self.validation, "validation_note": self.validation_note,
            "validation_errors": self.validation_errors, "notes": p.notes,
            "others": asdict(self.others) if self.others is not None else None, "gross_prob": self.gross_prob,
        }


def visit_filters(field: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """The filters of one field of a stored plan summary (a revisit has its own; plans stored before revisits
    name them only for the plan)."""
    return field["filter"].split(",") if field.get("filter") else list(summary.get("filters", []))


def first_windows(plan: Plan) -> dict[str, datetime]:
    """For each site, when its first scheduled field starts."""
    out: dict[str, datetime] = {}
    for f in plan.fields:
        out[f.slot.site] = min(out.get(f.slot.site, f.slot.start), f.slot.start)
    return dict(sorted(out.items(), key=lambda kv: kv[1]))


def _iso(t: datetime) -> str:
    """ISO 8601 UTC with a Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(prepared: PreparedMap, event_id: str, settings: Settings, request: PlanRequest, *,
          start: datetime | None = None, validate: bool = True, catalogue: str | None = None,
          submitters: Callable[[str, Settings], Submitter | None] = submitter_for,
          coverage: Coverage | None = None) -> PlanResult:
    """The plan ``request`` asks for, from ``start`` (default now). With ``request.galaxies``, the galaxies of
    ``catalogue`` (a file's path, from the command line) or of GWBOT_GALAXY_CATALOGUE. ``coverage``: others'
    pointings, subtracted (the plan's probability is then what it adds). A user's mistake (unknown facility,
    instrument or filter, no catalogue) raises :class:`PlanError`."""
    facility = fac.facility_for(settings.plans, request.facility)
    start = start or datetime.now(UTC)
    submitter = submitters(facility.submit, settings)
    notes: list[str] = []
    hours = request.hours
    if submitter is not None:
        facility, hours, notes = submitter.prepare(facility, start, hours)
    inst = facility.instrument(request.instrument)
    filters = request.filters
    galaxies = None
    if request.galaxies:
        path = catalogue or settings.plans.galaxy_catalogue
        if not path:
            raise PlanError("no galaxy catalogue: set GWBOT_GALAXY_CATALOGUE (CSV or FITS with ra, dec, distance)")
        try:
            galaxies = load_catalogue(path)
        except SkymapError as exc:
            raise PlanError(str(exc)) from None
    weight, others = None, None
    if coverage is not None:
        family = family_of(band_for((filters or inst.default_filters)[0]).name)
        weight = partial(coverage.weight, family)
        others = summarize(prepared, coverage, family, sample_points(prepared, min(inst.fov_deg) / 4))
    plan = make_plan(prepared, facility, inst, start=start, hours=hours, exposure_s=request.exposure_s,
                     filters=filters, n_fields=request.fields, galaxies=galaxies,
                     complete_to_mpc=settings.plans.galaxy_complete_to_mpc, weight=weight, revisit=request.revisit,
                     revisit_gap_min=request.revisit_gap_min)
    firsts = plan.first_visits
    png = render_png(prepared, Labels(f"{event_id} · {facility.name.upper()} plan",
                                      f"{len(firsts)} fields · {inst.name} · {plan.covered_prob:.1%} covered"),
                     fields=[(f.ra, f.dec) for f in firsts], fov_deg=inst.fov_deg)
    payload = validation = None
    note, errors = "nothing to submit: this facility takes plans by hand", []
    if submitter is not None and plan.fields:
        payload = submitter.payload(plan, event_id, facility, inst)
        validation, note = submitter.validate(payload) if validate else (None, "not validated")
        errors = submitter.describe_errors(validation["errors"]) if validation and validation.get("errors") else []
    plan.notes.extend(notes)
    return PlanResult(plan, facility, inst, png, payload, validation, note, errors, others, plan.gross_prob)
