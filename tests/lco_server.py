"""A local LCO observation portal for the tests, following its API contract.

Token authentication (``Authorization: Token …``, 401 otherwise); request-group
validation with the portal's rules (name <= 50 characters, proposal the token
may use, ipp_value 0.5-2.0, operator SINGLE for one request and MANY for more,
observation type, windows, ICRS targets in range, known instrument types and
filters, constraints) answering DRF-style nested errors; submission returning
ids; and request states that move on over time (an observation is scheduled,
then the request completes, fails or its window expires).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INSTRUMENTS = {  # pixel counts and scales as the instruments endpoint gives them
    "1M0-SCICAM-SINISTRO": {"class": "1m0", "pixels": (4096, 4096), "pixel_scale": 0.389,
                            "filters": ["U", "B", "V", "R", "I", "up", "gp", "rp", "ip", "zs", "Y", "w"]},
    "2M0-SCICAM-MUSCAT": {"class": "2m0", "filters": ["gp", "rp", "ip", "zs"], "pixels": (2048, 2048),
                          "pixel_scale": 0.27},
    "0M4-SCICAM-QHY600": {"class": "0m4", "filters": ["up", "gp", "rp", "ip", "zs", "B", "V", "w"],
                          "pixels": (9576, 6388), "pixel_scale": 0.74},
}


class FakeLCO:
    def __init__(self, token: str = "lco-test-token", proposal: str = "LCO2025B-001",
                 schedule_after: float = 1.0, finish_after: float = 2.0, outcome: str = "COMPLETED") -> None:
        self.token, self.proposal = token, proposal
        self.schedule_after, self.finish_after, self.outcome = schedule_after, finish_after, outcome
        self.groups: dict[int, dict] = {}
        self.submissions = 0
        self.validations = 0
        self._ids = itertools.count(1000)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/"

    def __enter__(self) -> FakeLCO:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
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
            errors["proposal"] = ["You do not belong to this proposal."]
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

    @staticmethod
    def _request_errors(request: dict) -> dict:
        e: dict = {}
        location = request.get("location") or {}
        if location.get("telescope_class") not in {i["class"] for i in INSTRUMENTS.values()}:
            e["location"] = {"telescope_class": ["Invalid telescope class."]}
        windows = request.get("windows") or []
        if not windows or any(w.get("start", "") >= w.get("end", "") for w in windows):
            e["windows"] = ["Windows must have a start before their end."]
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
                elements = ic.get("optical_elements") or {}
                bad = {}
                if conf.get("instrument_type") == "2M0-SCICAM-MUSCAT":  # four channels, no filter wheel
                    extra = ic.get("extra_params") or {}
                    missing = [f"diffuser_{c}_position" for c in "griz" if f"diffuser_{c}_position" not in elements]
                    missing += [f"exposure_time_{c}" for c in "griz" if f"exposure_time_{c}" not in extra]
                    if missing or extra.get("exposure_mode") not in ("SYNCHRONOUS", "ASYNCHRONOUS"):
                        bad["optical_elements"] = [f"MuSCAT needs {', '.join(missing) or 'an exposure_mode'}."]
                elif instrument and elements.get("filter") not in instrument["filters"]:
                    bad["optical_elements"] = {"filter": [f"Invalid filter {elements.get('filter')}."]}
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
    def _duration(request: dict) -> float:
        return sum(ic["exposure_time"] * ic.get("exposure_count", 1) + 28
                   for c in request["configurations"] for ic in c["instrument_configs"]) + 90

    # --- state over time --------------------------------------------------------------------------

    def _state(self, request: dict) -> tuple[str, list]:
        age = time.monotonic() - request["_submitted"]
        observations = [{"id": request["id"] * 10, "state": "PENDING", "site": "lsc"}] \
            if age >= self.schedule_after else []
        if age >= self.finish_after:
            observations[0]["state"] = {"COMPLETED": "COMPLETED", "FAILURE_LIMIT_REACHED": "FAILED"}.get(
                self.outcome, "NOT_ATTEMPTED")
            return self.outcome, observations
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
        group_state = "PENDING" if "PENDING" in states else next(iter(states))
        return {k: v for k, v in group.items() if k != "requests"} | {"requests": requests, "state": group_state}

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
                    self._reply(200, {name.lower(): {
                        "type": "IMAGE", "class": i["class"], "name": name,
                        "camera_type": {"pixels_x": i["pixels"][0], "pixels_y": i["pixels"][1],
                                        "pixel_scale": i["pixel_scale"],
                                        "science_field_of_view": round(
                                            i["pixel_scale"] * (i["pixels"][0] ** 2 + i["pixels"][1] ** 2) ** 0.5
                                            / 60, 1)},
                        "optical_elements": {"filters": [{"code": f, "schedulable": True} for f in i["filters"]]}}
                        for name, i in INSTRUMENTS.items()})
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
                        for g in fake.groups.values():
                            for r in g["requests"]:
                                if r["id"] == int(parts[2]):
                                    self._reply(200, fake._state(r)[1])
                                    return
                self._reply(404, {"detail": "Not found."})

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
                    elif path == "/api/requestgroups/":
                        if errors:
                            self._reply(400, errors)
                            return
                        fake.submissions += 1
                        group_id = next(fake._ids)
                        requests = [{**r, "id": next(fake._ids), "_submitted": time.monotonic()}
                                    for r in body["requests"]]
                        fake.groups[group_id] = {**body, "id": group_id, "requests": requests}
                        self._reply(201, fake.view(group_id))
                    else:
                        self._reply(404, {"detail": "Not found."})

        return Handler
