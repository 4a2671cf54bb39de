"""A local Treasure Map for the tests, following its server's rules.

Source: TheTreasureMap/gwtm @ c7a124ff590254210b6631fab979726b7ab8b7d0 (paths under ``server/``). Rules:

- The API lives under ``/api/v1``; a path with a trailing slash is redirected (307) (FastAPI's
  ``redirect_slashes``, routes declared without one in ``routes/*/router.py``).
- Writing needs the token in the ``api_token`` header, else 401 "Authentication required. …"
  (``auth/auth.py`` ``get_current_user``); reading pointings, footprints and instruments needs none.
- ``POST /pointings``: ``graceid`` and either ``pointing`` or ``pointings`` (``schemas/pointing.py``
  ``PointingCreateRequest``); an unknown graceid is 400 ``{"message": "Invalid graceid", "errors": [...]}``
  (``utils/pointing.py`` ``validate_graceid``, ``utils/error_handling.py``).
- Each new pointing: completed needs depth, depth_unit, band and time; planned needs time; a position
  (``ra``/``dec`` or ``POINT(ra dec)``) always (``schemas/pointing.py`` ``PointingCreate``). A failure there
  fails the whole request: 400 ``{"message": "Request validation error", "errors": [...]}`` (``main.py``).
- ``band`` and ``depth_unit`` outside the enums (``core/enums/bandpass.py``, ``core/enums/depthunit.py``)
  are refused by the database: 500 ``{"message": "A database error occurred"}`` (``main.py``).
- An unknown instrument id goes to ``ERRORS`` (``utils/pointing.py`` ``validate_instrument_reference``).
- A repeat (same status, instrument, band, time, position angle and position) goes to ``ERRORS`` as
  "Pointing already submitted"; times compare as stored, so a time with a UTC offset never equals a
  stored naive one (``utils/geometry.py`` ``pointing_crossmatch``).
- ``pointing_ids`` lists the ids of the stored pointings only, in order (``routes/pointing/create_pointings.py``).
- With ``id``: the caller's planned pointing is completed, changing only time, position angle and status;
  a completed or cancelled one goes to ``ERRORS`` "This pointing has already been …" (``utils/pointing.py``
  ``handle_planned_pointing_update``).
- ``POST /update_pointings {status, ids}``: only "cancelled", and only the caller's planned pointings
  (``schemas/pointing.py`` ``PointingUpdate``, ``routes/pointing/update_pointings.py``).
- ``GET /pointings``: ``graceid``, ``statuses`` (comma list or JSON array), ``instrument``; positions as
  ``POINT(ra dec)`` with RA in -180..180, enums by name (``routes/pointing/get_pointings.py``,
  ``schemas/pointing.py`` serializers, ``utils/geometry.py`` ``sanatize_pointing``).
- ``GET /footprints?id=``: ``[{id, instrumentid, footprint: WKT}]`` (``routes/instrument/get_footprints.py``);
  ``GET /instruments``: ``[{id, instrument_name, ...}]`` (``schemas/instrument.py``).

Test knobs: ``events`` (graceids it knows), ``lose_answers`` (store, then answer 502, as a gateway timing
out would), ``down`` (answer 503 to everything).
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any

from fakes.jsonhttp import JsonServer, Reply, Request

BANDS = {"U", "B", "V", "R", "I", "J", "H", "K", "u", "g", "r", "i", "z", "UVW1", "UVW2", "UVM2", "XRT", "clear",
         "open", "UHF", "VHF", "L", "S", "C", "X", "other", "TESS", "BAT", "HESS", "WISEL", "q"}
DEPTH_UNITS = {"ab_mag", "vega_mag", "flux_erg", "flux_jy"}
STATUSES = {"planned", "completed", "cancelled"}


def square_ccds(side: float, n: int = 2) -> list[str]:
    """WKT polygons of an n x n mosaic of square CCDs, ``side`` degrees in all, about the centre."""
    step = side / n
    out = []
    for i in range(n):
        for j in range(n):
            x0, y0 = -side / 2 + i * step, -side / 2 + j * step
            ring = [(x0, y0), (x0 + step, y0), (x0 + step, y0 + step), (x0, y0 + step), (x0, y0)]
            out.append("POLYGON ((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))")
    return out


class FakeTreasureMap(JsonServer):
    def __init__(self, token: str = "tm-test-token", events: set[str] | None = None,
                 instruments: dict[int, tuple[str, list[str]]] | None = None) -> None:
        super().__init__("/api/v1/")
        self.tokens = {token: 1}  # token -> user id
        self.events = set(events or {"MS181101ab"})
        self.instruments = instruments or {}
        self.pointings: dict[int, dict[str, Any]] = {}
        self.graceid: dict[int, str] = {}
        self.posts = 0
        self.lose_answers = 0
        self.down = False
        self._ids = itertools.count(1)

    def add_instrument(self, instrument_id: int, name: str, ccds: list[str]) -> None:
        self.instruments[instrument_id] = (name, ccds)

    def add_pointing(self, graceid: str, submitter: int = 99, **fields: Any) -> int:
        """Someone else's pointing (as another user)."""
        with self.lock:
            pid = next(self._ids)
            self.pointings[pid] = {"id": pid, "submitterid": submitter, "pos_angle": None, **fields}
            self.graceid[pid] = graceid
            return pid

    def of(self, graceid: str, submitter: int = 1) -> list[dict[str, Any]]:
        return [p for i, p in self.pointings.items() if self.graceid[i] == graceid and p["submitterid"] == submitter]

    # --- routes ------------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if self.down:
            return 503, {"message": "unavailable"}, {}
        path = request.path[len("/api/v1"):]
        if path.endswith("/") and len(path) > 1:
            return 307, None, {"Location": request.path.rstrip("/")}
        if request.method == "GET":
            return self._get(path, request.query)
        user = self.tokens.get(request.headers.get("api_token") or "")
        if user is None:
            return 401, {"message": "Authentication required. Please provide a valid JWT token or API token."}, {}
        with self.lock:
            if path == "/pointings":
                status, body = self._create(request.body or {}, user)
            elif path == "/update_pointings":
                status, body = self._update(request.body or {}, user)
            else:
                status, body = 404, {"detail": "Not Found"}
            if self.lose_answers and status == 200:
                self.lose_answers -= 1
                return 502, "<html>Bad Gateway</html>", {}
        return status, body, {}

    def _get(self, path: str, query: dict[str, str]) -> Reply:
        if path == "/pointings":
            statuses = set(_list(query.get("statuses"))) | ({query["status"]} if query.get("status") else set())
            out = []
            for pid, p in self.pointings.items():
                if query.get("graceid") and self.graceid[pid] != query["graceid"]:
                    continue
                if statuses and p["status"] not in statuses:
                    continue
                if query.get("instrument") and str(p["instrumentid"]) != query["instrument"]:
                    continue
                out.append(_shown(p))
            return 200, out, {}
        if path == "/footprints":
            wanted = int(query["id"]) if query.get("id") else None
            rows = [{"id": 100 * iid + k, "instrumentid": iid, "footprint": wkt}
                    for iid, (_, ccds) in self.instruments.items() if wanted in (None, iid)
                    for k, wkt in enumerate(ccds)]
            return 200, rows, {}
        if path == "/instruments":
            return 200, [{"id": iid, "instrument_name": name, "nickname": None, "instrument_type": "photometric"}
                         for iid, (name, _) in self.instruments.items()], {}
        return 404, {"detail": "Not Found"}, {}

    def _create(self, body: dict, user: int) -> tuple[int, Any]:
        if not body.get("graceid") or bool(body.get("pointing")) == bool(body.get("pointings")):
            return 400, {"message": "Request validation error",
                         "errors": [{"message": "Either pointing or pointings must be provided"}]}
        items = body.get("pointings") or [body["pointing"]]
        problems = [m for p in items for m in _validate(p)]
        if problems:
            return 400, {"message": "Request validation error", "errors": [{"message": m} for m in problems]}
        if body["graceid"] not in self.events:
            return 400, {"message": "Invalid graceid",
                         "errors": [{"message": f"The graceid '{body['graceid']}' does not exist in the database"}]}
        if any(p.get("band") is not None and p["band"] not in BANDS for p in items) or \
                any(p.get("depth_unit") is not None and p["depth_unit"] not in DEPTH_UNITS for p in items):
            return 500, {"message": "A database error occurred"}
        self.posts += 1
        ids, errors = [], []
        existing = [p for pid, p in self.pointings.items() if self.graceid[pid] == body["graceid"]]
        for item in items:
            if item.get("id"):
                pid = int(item["id"])
                have = self.pointings.get(pid)
                if have is None or have["submitterid"] != user:
                    errors.append([f"Object: {item}", [f"400: Pointing with ID {pid} not found or not owned by you"]])
                    continue
                if have["status"] in ("completed", "cancelled"):
                    errors.append([f"Object: {item}", [f"400: This pointing has already been {have['status']}"]])
                    continue
                have["time"] = _time(item["time"]) if item.get("time") else have["time"]
                if item.get("pos_angle") is not None:
                    have["pos_angle"] = item["pos_angle"]
                have["status"] = "completed"
                ids.append(pid)
                continue
            if item.get("instrumentid") not in self.instruments:
                errors.append([f"Object: {item}", [f"400: Instrument with ID {item.get('instrumentid')} not found"]])
                continue
            ra, dec = _position(item)
            new = {"submitterid": user, "ra": ra, "dec": dec, "instrumentid": item["instrumentid"],
                   "status": item.get("status") or "completed", "band": item.get("band"), "depth": item.get("depth"),
                   "depth_unit": item.get("depth_unit"), "time": _time(item["time"]),
                   "pos_angle": item.get("pos_angle"), "central_wave": item.get("central_wave"),
                   "bandwidth": item.get("bandwidth")}
            if any(_same(new, p) for p in existing):
                errors.append([f"Object: {item}", ["Pointing already submitted"]])
                continue
            pid = next(self._ids)
            self.pointings[pid] = {"id": pid, **new}
            self.graceid[pid] = body["graceid"]
            existing.append(self.pointings[pid])
            ids.append(pid)
        return 200, {"pointing_ids": ids, "ERRORS": errors, "WARNINGS": [], "DOI": None}

    def _update(self, body: dict, user: int) -> tuple[int, Any]:
        if body.get("status") != "cancelled" or not body.get("ids"):
            return 400, {"message": "Request validation error",
                         "errors": [{"message": "Only 'cancelled' status updates are currently supported"}]}
        n = 0
        for pid in body["ids"]:
            p = self.pointings.get(int(pid))
            if p is not None and p["submitterid"] == user and p["status"] == "planned":
                p["status"] = "cancelled"
                n += 1
        return 200, {"message": f"Updated {n} pointings successfully."}


def _list(value: str | None) -> list[str]:
    if not value:
        return []
    if value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [v.strip() for v in value.split(",") if v.strip()]


def _validate(p: dict) -> list[str]:
    if p.get("id"):
        return []
    status = p.get("status") or "completed"
    out = []
    if status == "completed":
        out += [f"{k} is required for completed observations" for k in ("depth", "depth_unit", "band", "time")
                if not p.get(k)]
    elif status == "planned" and not p.get("time"):
        out.append("time is required for planned observations")
    elif status not in STATUSES:
        out.append(f"Invalid status: {status}")
    if not p.get("position") and not (p.get("ra") is not None and p.get("dec") is not None):
        out.append("Position information required (either position string or ra/dec coordinates)")
    return out


def _position(p: dict) -> tuple[float, float]:
    if p.get("ra") is not None:
        return float(p["ra"]), float(p["dec"])
    ra, dec = p["position"].split("(")[1].split(")")[0].split()
    return float(ra), float(dec)


def _time(text: str) -> datetime:
    """As pydantic parses it: naive stays naive, an offset makes it aware."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _same(a: dict, b: dict) -> bool:
    return (a["status"] == b["status"] and a["instrumentid"] == b["instrumentid"] and a["band"] == b["band"]
            and a["time"] == b["time"] and a["pos_angle"] == b["pos_angle"]
            and ((a["ra"] + 180) % 360, a["dec"]) == ((b["ra"] + 180) % 360, b["dec"]))


def _shown(p: dict) -> dict:
    lon = ((p["ra"] + 180.0) % 360.0) - 180.0
    return {"id": p["id"], "position": f"POINT({lon} {p['dec']})", "instrumentid": p["instrumentid"],
            "status": p["status"], "band": p["band"], "depth": p.get("depth"), "depth_unit": p.get("depth_unit"),
            "time": p["time"].isoformat() if isinstance(p["time"], datetime) else p["time"],
            "pos_angle": p.get("pos_angle"), "submitterid": p["submitterid"]}
