"""LCO's observation portal: build a request group from a plan, validate, submit, follow.

The payload follows the portal's request-group contract: a name of at most
50 characters, an ipp_value within 0.5-2.0, operator SINGLE for one request
and MANY for more, an observation type, and requests with a location
(telescope class), windows and configurations (ICRS target, instrument
configs, constraints, acquisition and guiding). Authentication is
``Authorization: Token <LCO_API_TOKEN>``; the token never leaves this module.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.logs import Redactor
from bot.plans.facilities import Facility, Instrument
from bot.plans.planner import Plan
from bot.plans.status import REQUEST_FINAL
from bot.plans.submitter import SubmitError, Submitted
from bot.web import drf_errors as describe_errors

IPP_RANGE = (0.5, 2.0)
OBSERVATION_TYPES = ("NORMAL", "RAPID_RESPONSE", "TIME_CRITICAL")
FINAL_STATES = REQUEST_FINAL
#: Observation states that mean a telescope will take, is taking or took it (not CANCELED, FAILED, ABORTED,
#: NOT_ATTEMPTED: observation-portal observations/models.py).
LIVE_OBSERVATIONS = ("PENDING", "IN_PROGRESS", "COMPLETED")


class LCOError(SubmitError):
    """The portal refused or could not be reached; the message says why in words."""


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _instrument_configs(plan: Plan, filters: tuple[str, ...], instrument: Instrument) -> list[dict[str, Any]]:
    """One config per filter; MuSCAT-style instruments take all channels in one synchronous exposure.

    The portal wants every optical-element group the instrument has and no other (MuSCAT: its four
    ``narrowband_{g,r,i,z}_position`` in/out elements, no filter wheel), and a readout ``mode``.
    """
    mode = {"mode": instrument.readout_mode} if instrument.readout_mode else {}
    if instrument.simultaneous:
        channels = [f[0] for f in instrument.filters]  # gp, rp, ip, zs -> g, r, i, z
        return [{"exposure_time": plan.exposure_s, "exposure_count": 1, **mode,
                 "optical_elements": {f"narrowband_{c}_position": "out" for c in channels},
                 "extra_params": {"exposure_mode": "SYNCHRONOUS",
                                  **{f"exposure_time_{c}": plan.exposure_s for c in channels}}}]
    return [{"exposure_time": plan.exposure_s, "exposure_count": 1, **mode, "optical_elements": {"filter": name}}
            for name in filters]


def _windows(plan: Plan) -> dict[int, tuple[datetime, datetime]]:
    """Each field's request window: the stretch of visibility that holds its slot, inside the plan's window.
    A first visit and its revisit get windows at least the revisit gap apart, cut at the revisit's scheduled
    start, so however LCO's scheduler places them the gap holds and each window still holds its slot."""
    out = {f.rank: (max(f.slot.window[0], plan.start), min(f.slot.window[1], plan.end)) for f in plan.fields}
    for again in plan.fields:
        if again.revisit_of is not None and plan.revisit_gap_s is not None:
            start, end = out[again.revisit_of]
            out[again.revisit_of] = (start, min(end, again.slot.start - timedelta(seconds=plan.revisit_gap_s)))
            out[again.rank] = (max(out[again.rank][0], again.slot.start), out[again.rank][1])
    return out


def request_group(plan: Plan, event_id: str, facility: Facility, instrument: Instrument, proposal: str,
                  ipp_value: float = 1.05, observation_type: str = "NORMAL") -> dict[str, Any]:
    """The request group for a plan: one request per field, all sites allowed, LCO's scheduler picks."""
    if not IPP_RANGE[0] <= ipp_value <= IPP_RANGE[1]:
        raise LCOError(f"ipp_value {ipp_value} is outside {IPP_RANGE[0]}-{IPP_RANGE[1]}")
    if observation_type not in OBSERVATION_TYPES:
        raise LCOError(f"observation_type must be one of {', '.join(OBSERVATION_TYPES)}")
    if not plan.fields:
        raise LCOError("the plan has no fields")
    limits = facility.limits
    requests = []
    windows = _windows(plan)
    for f in plan.fields:
        what = f"P={f.prob:.4f}" if f.revisit_of is None else f"revisit of field {f.revisit_of}"
        requests.append({
            "observation_note": f"gwbot {event_id} field {f.rank}: {what}",
            "acceptability_threshold": 90,
            "location": {"telescope_class": instrument.telescope_class},
            # the stretch of visibility at the scheduled site that holds the field's slot: LCO's scheduler
            # keeps the last word, within it
            "windows": [{"start": _iso(windows[f.rank][0]), "end": _iso(windows[f.rank][1])}],
            "configurations": [{
                "type": "EXPOSE",
                "instrument_type": instrument.name,
                "priority": 1,
                "target": {"type": "ICRS", "name": f"{event_id}-F{f.rank:03d}", "ra": round(f.ra, 6),
                           "dec": round(f.dec, 6), "epoch": 2000},
                "instrument_configs": _instrument_configs(plan, f.filters, instrument),
                "constraints": {"max_airmass": limits.airmass_max,
                                "min_lunar_distance": limits.moon_separation_min_deg},
                "acquisition_config": {"mode": "OFF"},
                "guiding_config": {"mode": "ON", "optional": True},
            }],
        })
    name = f"{event_id} gwbot {instrument.telescope_class} {plan.start:%m%d %H%M}"[:50]
    return {"name": name, "proposal": proposal, "ipp_value": ipp_value,
            "operator": "SINGLE" if len(requests) == 1 else "MANY",
            "observation_type": observation_type, "requests": requests}


class Portal:
    """A thin client of the observation portal API at LCO_API_URL."""

    def __init__(self, base_url: str, token: str, timeout: float = 20.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self._redact = Redactor([token])  # an error page may echo our Authorization header
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers={
            "Authorization": f"Token {self._token}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"{}")
            except ValueError:
                detail = {}
            if exc.code in (401, 403):
                raise LCOError(f"LCO refused the credentials ({exc.code}): check LCO_API_TOKEN and the proposal") \
                    from None
            if exc.code == 429 or exc.code >= 500:
                raise LCOError(f"LCO is unavailable ({exc.code}); will retry", retry=True) from None
            lines = describe_errors(detail) or [f"HTTP {exc.code}"]
            raise LCOError(self._redact("LCO rejected the request: " + "; ".join(lines[:10]))) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise LCOError(f"cannot reach LCO ({exc})", retry=True) from None

    def validate(self, group: dict) -> dict:
        """{'request_durations': …, 'errors': …} from /api/requestgroups/validate/."""
        return self._call("POST", "requestgroups/validate/", group)

    def submit(self, group: dict) -> dict:
        return self._call("POST", "requestgroups/", group)

    def request_group(self, group_id: int) -> dict:
        return self._call("GET", f"requestgroups/{group_id}/")

    def observations(self, request_id: int) -> list:
        """The request's observations, cancelled ones left out (the portal lists them otherwise)."""
        return self._call("GET", f"requests/{request_id}/observations/?exclude_canceled=true") or []

    def scheduled(self, request_id: int) -> bool:
        """Is a telescope going to take (or taking, or done with) this request? Failed attempts do not count."""
        return any(o.get("state") in LIVE_OBSERVATIONS for o in self.observations(request_id))

    def semester_end(self, when: datetime) -> datetime | None:
        """End of the semester containing ``when`` (``/api/semesters/``, open to all), or None if none does."""
        answer = self._call("GET", f"semesters/?semester_contains={_iso(when)}")
        results = answer.get("results", answer) if isinstance(answer, dict) else answer
        ends = [datetime.fromisoformat(str(r["end"]).replace("Z", "+00:00")) for r in results or []]
        return min(ends) if ends else None

    def instruments(self) -> dict:
        return self._call("GET", "instruments/")

    def cancel(self, group_id: int) -> dict:
        """``POST requestgroups/ID/cancel/`` (observation-portal ``RequestGroupViewSet.cancel``): the group, now
        CANCELED with its pending requests."""
        return self._call("POST", f"requestgroups/{group_id}/cancel/", {})


def refresh_instruments(facility: Facility, catalogue: dict) -> tuple[Facility, list[str]]:
    """The facility with filters and fields of view taken from LCO's /api/instruments/ answer.

    Only instruments gwbot already knows are updated (their sites stay); the field of view comes from
    the camera's pixels and pixel scale, the filters from the schedulable optical elements.
    Returns the facility and what changed, in words.
    """
    from dataclasses import replace

    from bot.plans.facilities import with_instruments

    known = {name.upper(): info for name, info in catalogue.items()}
    changes, updated = [], []
    for inst in facility.instruments:
        info = known.get(inst.name.upper())
        if info is None:
            updated.append(inst)
            continue
        camera = info.get("camera_type") or {}
        fov = inst.fov_deg
        if camera.get("pixel_scale") and camera.get("pixels_x") and camera.get("pixels_y"):
            fov = (round(camera["pixels_x"] * camera["pixel_scale"] / 3600, 4),
                   round(camera["pixels_y"] * camera["pixel_scale"] / 3600, 4))
        filters = tuple(f["code"] for f in (info.get("optical_elements") or {}).get("filters", [])
                        if f.get("schedulable", True) and f.get("code")) or inst.filters
        if fov != inst.fov_deg or set(filters) != set(inst.filters):
            changes.append(f"{inst.name}: field {fov[0]:.3f}°×{fov[1]:.3f}°, filters {', '.join(filters)}")
        defaults = tuple(f for f in inst.default_filters if f in filters) or filters[:1]
        readout = (info.get("modes") or {}).get("readout") or {}
        modes = [m["code"] for m in readout.get("modes", []) if m.get("schedulable", True)]
        mode = inst.readout_mode
        if modes and mode not in modes:
            mode = readout.get("default") or modes[0]
            changes.append(f"{inst.name}: readout mode {mode}")
        updated.append(replace(inst, fov_deg=fov, filters=filters, default_filters=defaults, readout_mode=mode))
    return with_instruments(facility, updated), changes


class LCOSubmitter:
    """LCO's observation portal behind the plan domain's :class:`~bot.plans.submitter.Submitter`."""

    final_states = FINAL_STATES
    web_url = "https://observe.lco.global/requestgroups/{}/"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.portal = Portal(settings.plans.lco_api_url, settings.plans.lco_api_token or "")
        self.ready = bool(settings.plans.lco_api_token and settings.plans.lco_proposal_id)

    def prepare(self, facility: Facility, start: datetime, hours: float) -> tuple[Facility, float, list[str]]:
        """LCO's current instrument list, and the window cut at the semester's end (both need a token)."""
        if not self.settings.plans.lco_api_token:
            return facility, hours, []
        facility, refreshed = self._refreshed(facility)
        hours, semester = self._within_semester(start, hours)
        return facility, hours, [n for n in (refreshed, semester) if n]

    def payload(self, plan: Plan, event_id: str, facility: Facility, instrument: Instrument) -> dict[str, Any]:
        s = self.settings.plans
        return request_group(plan, event_id, facility, instrument, s.lco_proposal_id or "(LCO_PROPOSAL_ID unset)",
                             s.lco_ipp_value, s.lco_observation_type)

    def validate(self, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        if not self.ready:
            return None, "not validated: set LCO_API_TOKEN and LCO_PROPOSAL_ID to validate and submit"
        try:
            answer = self.portal.validate(payload)
        except LCOError as exc:
            return None, f"could not validate: {exc}"
        return answer, "validated by LCO" if not answer.get("errors") else "LCO found errors"

    def submit(self, payload: dict[str, Any]) -> Submitted:
        group = self.portal.submit(payload)
        return Submitted(group["id"], {str(r["id"]): r.get("state", "PENDING") for r in group.get("requests", [])},
                         self.web_url.format(group["id"]))

    def states(self, group_id: int) -> dict[str, str]:
        states = {}
        for request in self.portal.request_group(group_id).get("requests", []):
            state = request.get("state", "PENDING")
            if state == "PENDING" and self.portal.scheduled(request["id"]):
                state = "SCHEDULED"
            states[str(request["id"])] = state
        return states

    def observed(self, request_id: int) -> float | None:
        """The start of the request's completed observation (the observation portal's ``start``)."""
        try:
            done = [o for o in self.portal.observations(request_id) if o.get("state") == "COMPLETED" and o.get("start")]
        except LCOError:
            return None
        return min((datetime.fromisoformat(str(o["start"]).replace("Z", "+00:00")).timestamp() for o in done),
                   default=None)

    def cancel(self, group_id: int) -> dict[str, str]:
        try:
            group = self.portal.cancel(group_id)
        except LCOError as exc:
            if exc.retry:
                raise SubmitError(str(exc), retry=True) from None
            group = self.portal.request_group(group_id)  # refused: it may have ended already
            if group.get("state") not in FINAL_STATES:
                raise SubmitError(str(exc)) from None
        return {str(r["id"]): str(r.get("state", "PENDING")) for r in group.get("requests", [])}

    def describe_errors(self, errors: Any) -> list[str]:
        return describe_errors(errors)

    def _within_semester(self, start: datetime, hours: float) -> tuple[float, str]:
        """LCO takes no window that crosses a semester boundary: cut the window at the semester's end."""
        url = self.settings.plans.lco_api_url
        end = _SEMESTER_END.get(url)
        if end is None or not start < end:
            try:
                end = self.portal.semester_end(start)
            except LCOError as exc:
                return hours, f"semester not checked ({exc})"
            if end is None:
                return hours, "no LCO semester contains the window start"
            _SEMESTER_END[url] = end
        left = (end - start).total_seconds() / 3600
        if left >= hours:
            return hours, ""
        return max(left, 0.0), f"window cut at the end of the LCO semester ({end:%Y-%m-%d %H:%M} UTC)"

    def _refreshed(self, facility: Facility) -> tuple[Facility, str]:
        """LCO's current instrument list (cached for an hour); the built-in one when LCO cannot be reached."""
        url = self.settings.plans.lco_api_url
        cached = _CATALOGUE.get(url)
        if cached is None or time.monotonic() - cached[0] > CATALOGUE_SECONDS:
            try:
                cached = (time.monotonic(), self.portal.instruments())
            except LCOError as exc:
                return facility, f"instrument list not refreshed from LCO ({exc})"
            _CATALOGUE[url] = cached
        facility, changes = refresh_instruments(facility, cached[1])
        return facility, ("instruments refreshed from LCO: " + "; ".join(changes)) if changes else ""


# caches of what LCO's portal said, by API URL
_SEMESTER_END: dict[str, datetime] = {}
_CATALOGUE: dict[str, tuple[float, dict]] = {}
CATALOGUE_SECONDS = 3600.0
