"""A local LCO observation portal for the tests, following its API contract.

Sources: OP = observatorycontrolsystem/observation-portal @ 31c2ddd; AEON = AEONplus/AEONlib @ ea8581a
(``src/aeonlib/ocs/lco/instruments.py``, generated from LCO's live ``/api/instruments/``). Rules:

- Token authentication, ``Authorization: Token …``, 401 otherwise; ``/api/instruments/`` and
  ``/api/semesters/`` are open to all (OP ``requestgroups/views.py``, ``proposals/viewsets.py:121-128``).
- Request group: name <= 50 characters, ipp_value 0.5-2.0, operator SINGLE for one request and MANY for
  more, observation type; the proposal's membership error comes back under ``non_field_errors``
  (OP ``requestgroups/serializers.py:883-892``).
- Optical elements per instrument type: every group the instrument has must be given, and no other; values
  checked case-insensitively (OP ``serializers.py:434-456``). MuSCAT has ``narrowband_{g,r,i,z}_position``
  (in/out), no filter wheel, and takes ``extra_params.exposure_mode`` and ``exposure_time_{g,r,i,z}``
  (AEON ``instruments.py:199-205``, ``tests/ocs/lco_requests.py:103-150``).
- Readout ``mode``: must be one of the instrument's; without it, "Must set a readout mode" when the instrument
  has several and no default (OP ``serializers.py:198-211, 422-423``; modes from AEON ``instruments.py``).
- Windows: start before end, and inside one semester (OP ``serializers.py:623-644``); ``/api/semesters/``
  with ``semester_contains`` (OP ``proposals/filters.py:35-49``), paginated as DRF LimitOffsetPagination
  (OP ``settings.py:301-302``).
- ``/api/instruments/`` keys are upper-case instrument codes with ``optical_elements`` groups (plural names)
  and ``modes`` (OP ``views.py:145-166``).
- ``/api/requests/ID/observations/`` lists cancelled observations too unless ``exclude_canceled`` is given,
  which drops only CANCELED (OP ``viewsets.py:310-315``); request states PENDING, COMPLETED, WINDOW_EXPIRED,
  FAILURE_LIMIT_REACHED, CANCELED (OP ``observations/models.py:88-153``).

- Cancelling: ``POST /api/requestgroups/ID/cancel/`` sets the group's state to CANCELED and answers 200 with the
  group (OP @ 31c2ddd6 ``requestgroups/viewsets.py:155-165``, ``RequestGroupViewSet.cancel``); its PENDING requests
  become CANCELED, the others keep their state (``common/state_changes.py:111-119``). CANCELED may only follow
  PENDING (``REQUEST_STATE_MAP``, ``state_changes.py:24-30``): a group that has ended otherwise gets 400
  ``{"errors": ["Cannot transition from request state COMPLETED to CANCELED for …"]}``; a group already CANCELED
  is left as it is, 200 (``on_requestgroup_state_change`` returns when the state does not change). Another
  proposal's group, or an unknown id: 404 (``get_object`` on the user's groups).

Request states move on over time (an observation is scheduled, then the request completes, fails or its
window expires); ``cancel_first`` makes each request's first observation a CANCELED one. ``finish_spread``
staggers a group's requests (the k-th of n finishes ``finish_spread * k / n`` seconds after the first), and
``expire_every`` lets every n-th request's window expire instead, as a night at several sites goes.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTRUMENTS = {  # pixel counts and scales, optical-element groups and readout modes as /api/instruments/ has them
    "1M0-SCICAM-SINISTRO": {"class": "1m0", "pixels": (4096, 4096), "pixel_scale": 0.389,
                            "optical_elements": {"filters": ["U", "B", "V", "R", "I", "up", "gp", "rp", "ip", "zs",
                                                             "Y", "w"]},
                            "readout": ["full_frame", "central_2k_2x2"]},
    "2M0-SCICAM-MUSCAT": {"class": "2m0", "pixels": (2048, 2048), "pixel_scale": 0.27,
                          "optical_elements": {f"narrowband_{c}_positions": ["in", "out"] for c in "griz"},
                          "readout": ["MUSCAT_FAST", "MUSCAT_SLOW"]},
    "0M4-SCICAM-QHY600": {"class": "0m4", "pixels": (9576, 6388), "pixel_scale": 0.74,
                          "optical_elements": {"filters": ["up", "gp", "rp", "ip", "zs", "B", "V", "w"]},
                          "readout": ["full_frame", "central30x30"]},
}


def lco_semesters(first: int, last: int) -> list[tuple[datetime, datetime]]:
    """LCO's semesters: A from 1 February, B from 1 August (e.g. 2024B: 2024-08-01 to 2025-02-01)."""
    out = []
    for year in range(first, last + 1):
        out.append((datetime(year, 2, 1, tzinfo=UTC), datetime(year, 8, 1, tzinfo=UTC)))
        out.append((datetime(year, 8, 1, tzinfo=UTC), datetime(year + 1, 2, 1, tzinfo=UTC)))
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


class FakeLCO:
    def __init__(self, token: str = "lco-test-token", proposal: str = "LCO2025B-001",
                 schedule_after: float = 1.0, finish_after: float = 2.0, outcome: str = "COMPLETED",
                 semesters: list[tuple[datetime, datetime]] | None = None, cancel_first: bool = False,
                 finish_spread: float = 0.0, expire_every: int = 0) -> None:
        self.token, self.proposal = token, proposal
        self.schedule_after, self.finish_after, self.outcome = schedule_after, finish_after, outcome
        self.finish_spread, self.expire_every = finish_spread, expire_every
        self.semesters = semesters or lco_semesters(2019, 2031)
        self.cancel_first = cancel_first
        self.observation_queries: list[str] = []  # query strings of observation look-ups
        self.groups: dict[int, dict] = {}
        self.submissions = 0
        self.cancels: list[int] = []  # request group ids, each time the cancel endpoint is called
        self.validations = 0
        self._ids = itertools.count(1000)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"

    def __enter__(self) -> FakeLCO:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the rules ----------------------------------------------------------------------------

    def errors(self, group: dict) -> dict:
        errors: dict = {}
        name = group.get("name")
        if not name:
            errors["name"] = ["This field is required."]
        elif len(name) > 50:
            errors["name"] = ["Ensure this field has no more than 50 characters."]
        if group.get("proposal") != self.proposal:
            errors["non_field_errors"] = ["You do not belong to the proposal you are trying to submit with"]
        ipp = group.get("ipp_value")
        if not isinstance(ipp, (int, float)) or not 0.5 <= ipp <= 2.0:
            errors["ipp_value"] = ["ipp_value must be between 0.5 and 2.0"]
        requests = group.get("requests") or []
        if not requests:
            errors["requests"] = ["You must specify at least 1 request"]
        operator = group.get("operator")
        if operator not in ("SINGLE", "MANY") or (operator == "SINGLE") != (len(requests) == 1):
            errors["operator"] = ["Use SINGLE for one request and MANY for more than one."]
        if group.get("observation_type") not in ("NORMAL", "RAPID_RESPONSE", "TIME_CRITICAL", "DIRECT"):
            errors["observation_type"] = ['"{}" is not a valid choice.'.format(group.get("observation_type"))]
        request_errors = [self._request_errors(r) for r in requests]
        if any(request_errors):
            errors["requests"] = request_errors
        return errors

    def semester_containing(self, start: datetime, end: datetime | None = None) -> tuple[datetime, datetime] | None:
        return next(((a, b) for a, b in self.semesters if a <= start and (end or start) <= b), None)

    def _request_errors(self, request: dict) -> dict:
        e: dict = {}
        location = request.get("location") or {}
        if location.get("telescope_class") not in {i["class"] for i in INSTRUMENTS.values()}:
            e["location"] = {"telescope_class": ["Invalid telescope class."]}
        windows = request.get("windows") or []
        if not windows or any(w.get("start", "") >= w.get("end", "") for w in windows):
            e["windows"] = ["Windows must have a start before their end."]
        elif any(self.semester_containing(_utc(w["start"]), _utc(w["end"])) is None for w in windows):
            e["windows"] = [{"non_field_errors": ["The observation window does not fit within any defined "
                                                  "semester."]}]
        conf_errors = []
        for conf in request.get("configurations") or []:
            c: dict = {}
            instrument = INSTRUMENTS.get(conf.get("instrument_type"))
            if instrument is None:
                c["instrument_type"] = ["Invalid instrument type."]
            elif instrument["class"] != location.get("telescope_class"):
                c["instrument_type"] = ["The instrument type is not available on this telescope class."]
            target = conf.get("target") or {}
            if target.get("type") != "ICRS":
                c["target"] = {"type": ["Only ICRS targets here."]}
            elif not (0 <= float(target.get("ra", -1)) < 360 and -90 <= float(target.get("dec", 99)) <= 90):
                c["target"] = {"ra": ["Ensure RA is within 0-360 and Dec within -90-90."]}
            ics = conf.get("instrument_configs") or []
            ic_errors = []
            for ic in ics:
                bad = self._instrument_config_errors(conf.get("instrument_type", ""), instrument, ic)
                if not 0 < float(ic.get("exposure_time", 0)) <= 3600:
                    bad["exposure_time"] = ["Exposure time must be between 0 and 3600 seconds."]
                ic_errors.append(bad)
            if not ics:
                c["instrument_configs"] = ["At least one instrument config is required."]
            elif any(ic_errors):
                c["instrument_configs"] = ic_errors
            constraints = conf.get("constraints") or {}
            if not 1.0 <= float(constraints.get("max_airmass", 1.6)) <= 25:
                c["constraints"] = {"max_airmass": ["Invalid airmass."]}
            conf_errors.append(c)
        if not conf_errors:
            e["configurations"] = ["At least one configuration is required."]
        elif any(conf_errors):
            e["configurations"] = conf_errors
        return e

    @staticmethod
    def _instrument_config_errors(name: str, instrument: dict | None, ic: dict) -> dict:
        """OP serializers.py:198-211 (readout mode) and 434-456 (optical elements); AEON for MuSCAT."""
        if instrument is None:
            return {}
        bad: dict = {}
        first = FakeLCO._first_config_error(name, instrument, ic)  # the portal raises at the first problem
        if first:
            bad["non_field_errors"] = [first]
        if name == "2M0-SCICAM-MUSCAT":
            extra = ic.get("extra_params") or {}
            missing = [f"exposure_time_{c}" for c in "griz" if f"exposure_time_{c}" not in extra]
            if missing or extra.get("exposure_mode") not in ("SYNCHRONOUS", "ASYNCHRONOUS"):
                bad["extra_params"] = [f"MuSCAT needs {', '.join(missing) or 'an exposure_mode'}."]
        return bad

    @staticmethod
    def _first_config_error(name: str, instrument: dict, ic: dict) -> str | None:
        modes = instrument["readout"]
        if "mode" not in ic:
            return f"Must set a readout mode, choose from {', '.join(modes)}"
        if ic["mode"].lower() not in {m.lower() for m in modes}:
            return f"Readout mode {ic['mode']} is not available for instrument type {name}"
        elements = ic.get("optical_elements") or {}
        groups = instrument["optical_elements"]
        for kind, value in elements.items():
            if f"{kind}s" not in groups:
                return f"optical_element of type {kind} is not available on {name} instruments"
            if str(value).lower() not in {v.lower() for v in groups[f"{kind}s"]}:
                return f"optical element {value} of type {kind} is not available"
        for group in groups:
            if group[:-1] not in elements:
                return f"Must set optical element of type {group[:-1]} for instrument type {name}"
        return None

    @staticmethod
    def _duration(request: dict) -> float:
        return sum(ic["exposure_time"] * ic.get("exposure_count", 1) + 28
                   for c in request["configurations"] for ic in c["instrument_configs"]) + 90

    # --- state over time --------------------------------------------------------------------------

    def _state(self, request: dict) -> tuple[str, list]:
        if request.get("_canceled"):
            return "CANCELED", []
        age = time.monotonic() - request["_submitted"]
        start = _utc(request["windows"][0]["start"])
        block = {"start": start.isoformat().replace("+00:00", "Z"),  # Observation.start/end (OP models.py:114-121)
                 "end": (start + timedelta(seconds=self._duration(request))).isoformat().replace("+00:00", "Z")}
        observations = [{"id": request["id"] * 10, "state": "PENDING", "site": "lsc", **block}] \
            if age >= self.schedule_after else []
        if self.cancel_first:  # a scheduled block that LCO cancelled (e.g. rescheduled), listed first
            observations.insert(0, {"id": request["id"] * 10 - 1, "state": "CANCELED", "site": "coj", **block})
        k, n = request["_place"]
        if age >= self.finish_after + self.finish_spread * k / n and observations:
            outcome = "WINDOW_EXPIRED" if self.expire_every and k % self.expire_every == self.expire_every - 1 \
                else self.outcome
            observations[-1]["state"] = {"COMPLETED": "COMPLETED", "FAILURE_LIMIT_REACHED": "FAILED"}.get(
                outcome, "NOT_ATTEMPTED")
            return outcome, observations
        return "PENDING", observations

    def view(self, group_id: int) -> dict | None:
        group = self.groups.get(group_id)
        if group is None:
            return None
        requests = []
        for r in group["requests"]:
            state, _ = self._state(r)
            requests.append({k: v for k, v in r.items() if not k.startswith("_")} | {"state": state})
        states = {r["state"] for r in requests}
        # the group's state: set by a cancel, else aggregated from its requests' (OP state_changes.py:334-346)
        priority = ["PENDING", "COMPLETED", "WINDOW_EXPIRED", "FAILURE_LIMIT_REACHED", "CANCELED"] \
            if group.get("operator") == "MANY" else \
            ["WINDOW_EXPIRED", "PENDING", "COMPLETED", "FAILURE_LIMIT_REACHED", "CANCELED"]
        group_state = "CANCELED" if group.get("_canceled") else next(s for s in priority if s in states)
        return {k: v for k, v in group.items() if k != "requests" and not k.startswith("_")} | {"requests": requests,
                                                                                           "state": group_state}

    # --- HTTP -------------------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def _reply(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"Token {fake.token}":
                    self._reply(401, {"detail": "Invalid token."})
                    return False
                return True

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/api/instruments/":  # AllowAny in the real portal
                    self._reply(200, {name: {
                        "type": "IMAGE", "class": i["class"], "name": name,
                        "camera_type": {"pixels_x": i["pixels"][0], "pixels_y": i["pixels"][1],
                                        "pixel_scale": i["pixel_scale"],
                                        "science_field_of_view": round(
                                            i["pixel_scale"] * (i["pixels"][0] ** 2 + i["pixels"][1] ** 2) ** 0.5
                                            / 60, 1)},
                        "optical_elements": {group: [{"code": v, "name": v, "schedulable": True} for v in values]
                                             for group, values in i["optical_elements"].items()},
                        "modes": {"readout": {"type": "readout", "modes": [
                            {"code": m, "name": m, "schedulable": True} for m in i["readout"]]}}}
                        for name, i in INSTRUMENTS.items()})
                    return
                if path == "/api/semesters/":  # AllowAny
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                    rows = fake.semesters
                    if "semester_contains" in query:
                        when = _utc(query["semester_contains"][0])
                        rows = [(a, b) for a, b in rows if a <= when <= b]
                    results = [{"id": f"S{a:%Y%m%d}", "start": a.isoformat(), "end": b.isoformat()} for a, b in rows]
                    self._reply(200, {"count": len(results), "next": None, "previous": None, "results": results})
                    return
                if not self._authorized():
                    return
                parts = [p for p in path.split("/") if p]
                with fake.lock:
                    if parts[:2] == ["api", "requestgroups"] and len(parts) == 3:
                        view = fake.view(int(parts[2]))
                        self._reply(200, view) if view else self._reply(404, {"detail": "Not found."})
                        return
                    if parts[:2] == ["api", "requests"] and len(parts) == 4 and parts[3] == "observations":
                        query = urllib.parse.urlsplit(self.path).query
                        fake.observation_queries.append(query)
                        exclude = bool(urllib.parse.parse_qs(query).get("exclude_canceled"))
                        for g in fake.groups.values():
                            for r in g["requests"]:
                                if r["id"] == int(parts[2]):
                                    observations = fake._state(r)[1]
                                    self._reply(200, [o for o in observations
                                                      if not (exclude and o["state"] == "CANCELED")])
                                    return
                self._reply(404, {"detail": "Not found."})

            def _cancel(self, group_id: int) -> None:
                view = fake.view(group_id)
                if view is None:
                    self._reply(404, {"detail": "Not found."})
                    return
                fake.cancels.append(group_id)
                if view["state"] not in ("PENDING", "CANCELED"):
                    self._reply(400, {"errors": [f"Cannot transition from request state {view['state']} to CANCELED "
                                                 f"for {view['name']}"]})
                    return
                for request, shown in zip(fake.groups[group_id]["requests"], view["requests"], strict=True):
                    if shown["state"] == "PENDING":
                        request["_canceled"] = True
                fake.groups[group_id]["_canceled"] = True
                self._reply(200, fake.view(group_id))

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                path = self.path.split("?")[0]
                with fake.lock:
                    errors = fake.errors(body)
                    if path == "/api/requestgroups/validate/":
                        fake.validations += 1
                        durations = {} if errors else {
                            "requests": [{"duration": fake._duration(r)} for r in body["requests"]],
                            "duration": sum(fake._duration(r) for r in body["requests"])}
                        self._reply(200, {"request_durations": durations, "errors": errors})
                    elif path.startswith("/api/requestgroups/") and path.endswith("/cancel/"):
                        self._cancel(int(path.split("/")[3]))
                    elif path == "/api/requestgroups/":
                        if errors:
                            self._reply(400, errors)
                            return
                        fake.submissions += 1
                        group_id = next(fake._ids)
                        n = len(body["requests"])
                        requests = [{**r, "id": next(fake._ids), "_submitted": time.monotonic(), "_place": (k, n)}
                                    for k, r in enumerate(body["requests"])]
                        fake.groups[group_id] = {**body, "id": group_id, "requests": requests}
                        self._reply(201, fake.view(group_id))
                    else:
                        self._reply(404, {"detail": "Not found."})

        return Handler
