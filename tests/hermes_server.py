"""A local HERMES for the tests, following its server's rules.

Source: LCOGT/hermes @ 67083891a97f9478306ad99f86c3010633b3affa. Rules:

- Token authentication (``Authorization: Token <key>``) besides sessions (``hermes_base/settings.py``
  ``DEFAULT_AUTHENTICATION_CLASSES``); ``messages/`` needs it (``hermes/views.py`` ``MessageViewSet``
  ``IsAuthenticated``), as does ``submit_message/preload/``; pages are LimitOffset, 100 a page
  (``settings.py`` ``DEFAULT_PAGINATION_CLASS``, ``PAGE_SIZE``), newest first (``ordering = ('-id',)``); a
  listed message is ``{id, uuid, nonlocalizedevents: [{event_id}], targets}`` (``serializers.py``
  ``MessageSerializer``); ``event_id_exact`` filters on the linked event (``hermes/filters.py``).
- ``title``, ``topic`` and ``submitter`` are required; a development server accepts only topics containing
  "test" ("Hermes Dev can only submit to a test topic.") (``serializers.py`` ``HermesMessageSerializer``).
- Targets need a ``name``, unique within the message, and ra/dec (or orbital elements); photometry needs
  ``target_name`` naming a target, ``date_obs`` (a date, or a JD/MJD in range), ``telescope`` or
  ``instrument``, ``bandpass``, ``brightness`` or ``limiting_brightness``, units among "AB mag", "Vega mag",
  "mJy", "erg / s / cm² / Å" (``serializers.py`` ``TargetDataSerializer``, ``CommonDataSerializer``,
  ``PhotometryDataSerializer``, ``GenericHermesDataSerializer``, ``validate_date``).
- ``submit_message/validate/`` answers 200 with ``{}`` or the field errors (``views.py`` ``validate``);
  ``submit_message/`` answers 400 with them, 200 ``{"error": ...}`` without publishing when the user has no
  SCiMMA credential stored, else 200 with the message and its ``uuid``; keys of ``data`` it does not know
  pass through (``views.py`` ``create``, ``EXPECTED_DATA_KEYS``); ``preload/`` answers 201 ``{"key"}``.
- ``query/message/<uuid>/`` gives the archived message ``{metadata, annotations, message}``
  (``views.py`` ``MessageApiView``, ``hermes/utils.py`` ``convert_message``).
- ``submit_to_gcn`` (``serializers.py`` ``HermesMessageSerializer.validate``, lines 816-857): the user must have
  linked a GCN account ("Must register a valid GCN account on your Profile page to submit to GCN", a
  non-field error), ``authors`` and ``message_text`` must be set, the title must hold one of
  ``GCN_REQUIRED_KEYS`` and none of ``GCN_PROHIBITED_KEYS`` (both lists copied below); the flag is not kept in
  the message. On success HERMES posts ``{subject: title, body: text + its footer, format: "text/markdown"}`` to
  GCN and adds ``{source: "gcn_circular", citation: <circularId>, url}`` to ``data.references`` of the message it
  publishes and returns (``views.py`` ``submit_to_gcn``, ``create``).

Test knobs: ``lose_answers`` (publish, then answer 502 as a gateway would), ``down`` (503 to everything),
``credential`` (whether the token's user has a SCiMMA credential in HERMES), ``dev`` (test topics only),
``gcn_linked`` (whether that user has linked a GCN account); ``circulars`` records what went on to GCN.
"""

from __future__ import annotations

import itertools
import uuid as uuidlib
from datetime import datetime
from typing import Any

from fakes.jsonhttp import JsonServer, Reply, Request

UNITS = ("AB mag", "Vega mag", "mJy", "erg / s / cm² / Å")
GCN_REQUIRED_KEYS = ("AGILE", "ANTARES", "AXP", "Baksan Neutrino Observatory Alert", "CALET", "Chandra", "Fermi", "FXT",
                     "GRB", "GW", "HAWC", "HST", "IBAS", "IceCube", "INTEGRAL", "IPN", "KAGRA", "KONUS", "LIGO",
                     "LOFAR", "LVC", "LVK", "MAGIC", "MASTER", "MAXI", "Pan-STARRS", "POLAR", "RATIR", "SDSS", "SFXT",
                     "SGR", "Suzaku", "Swift", "transient", "VLA", "VLBI", "XRB", "XRF", "XRT", "XTR", "Virgo", "ZTF")
GCN_PROHIBITED_KEYS = ("this is an automatic reply", "automatic reply:", "auto reply", "autoreply", "vacation",
                       "out of the office", "out of office", "out of town", "away from my mail",
                       "away from his e-mail", "away from her e-mail", "away from the office", "away from his office",
                       "away from her office", "traveling until", "no longer receiving mail",
                       "delivery failure notif", "mail delivery failure", "returned mail", "saxzlcnkgzmfpbhvyzsbub",
                       "ponse_automatique", "off-line re:", "re: ", "fwd: ", " r: ", " ris: ", "subject:")
GCN_ACCOUNT = "Must register a valid GCN account on your Profile page to submit to GCN"
REQUIRED = "This field is required."


def _date_ok(value: Any) -> bool:
    try:
        f = float(value)
        return 2400000 < f < 2600000 or 1000 < f < 150000
    except (TypeError, ValueError):
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return True
        except ValueError:
            return False


def _gcn_errors(message: dict, linked: bool) -> dict:
    errors: dict[str, Any] = {}
    non_field = [] if linked else [GCN_ACCOUNT]
    if not message.get("authors"):
        errors["authors"] = ["Authors must be set to submit to GCN"]
    if not message.get("message_text"):
        errors["message_text"] = ["Message text must be set to submit to GCN"]
    title = message.get("title") or ""
    if not any(key.lower() in title.lower() for key in GCN_REQUIRED_KEYS):
        non_field.append('Title must contain one of allowed subject keywords from the <a href="https://gcn.nasa.gov/'
                         'docs/circulars/styleguide#message-content" target="_blank">GCN Style Guide</a> to submit '
                         'to GCN.')
    non_field += [f'Title cannot contain the prohibited keyword "{key}".' for key in GCN_PROHIBITED_KEYS
                  if key in title.lower()]
    if non_field:
        errors["non_field_errors"] = non_field
    return errors


def errors_of(message: dict, dev: bool, gcn_linked: bool = True) -> dict:
    """The serializer's errors, in DRF's shape ({} when valid)."""
    errors: dict[str, Any] = _gcn_errors(message, gcn_linked) if message.get("submit_to_gcn") else {}
    for key in ("title", "topic", "submitter"):
        if not message.get(key):
            errors[key] = [REQUIRED]
    if dev and message.get("topic") and "test" not in message["topic"]:
        errors["topic"] = ["Hermes Dev can only submit to a test topic."]
    data = message.get("data") or {}
    names = [t.get("name") for t in data.get("targets", [])]
    target_errors = []
    for t in data.get("targets", []):
        e: dict[str, list[str]] = {}
        if not t.get("name"):
            e["name"] = [REQUIRED]
        elif names.count(t["name"]) > 1:
            e["name"] = ["The target name must be unique within the submission"]
        if (t.get("ra") is None or t.get("dec") is None) and not t.get("orbital_elements"):
            e["ra"] = e["dec"] = ["ra/dec or orbital elements are required"]
        target_errors.append(e)
    photometry_errors = []
    for p in data.get("photometry", []):
        e = {}
        for key in ("target_name", "date_obs", "bandpass"):
            if not p.get(key):
                e[key] = [REQUIRED]
        if p.get("date_obs") and not _date_ok(p["date_obs"]):
            e["date_obs"] = [f"{p['date_obs']} does not parse with dateutil.parser.parse. Please specify the date in "
                             "a standard format or as a JD."]
        if not (p.get("telescope") or p.get("instrument")):
            e["telescope"] = e["instrument"] = ["Must have at least one of telescope or instrument set"]
        if not (p.get("brightness") or p.get("limiting_brightness")):
            e["brightness"] = e["limiting_brightness"] = ["brightness or limiting_brightness are required"]
        for key in ("brightness_unit", "limiting_brightness_unit"):
            if p.get(key) is not None and p[key] not in UNITS:
                e[key] = [f'"{p[key]}" is not a valid choice.']
        if p.get("target_name") and p["target_name"] not in names:
            e["target_name"] = ["The target_name must reference a name in your target table"]
        photometry_errors.append(e)
    data_errors = {}
    if any(target_errors):
        data_errors["targets"] = target_errors
    if any(photometry_errors):
        data_errors["photometry"] = photometry_errors
    if data_errors:
        errors["data"] = data_errors
    return errors


class FakeHermes(JsonServer):
    def __init__(self, token: str = "hermes-test-token", dev: bool = True, credential: bool = True,
                 gcn_linked: bool = True) -> None:
        super().__init__("/api/v0/")
        self.token, self.dev, self.credential, self.gcn_linked = token, dev, credential, gcn_linked
        self.circulars: list[dict] = []  # what HERMES posted on to GCN's /api/circulars
        self.published: list[dict] = []  # archived messages: {id, uuid, message, topic}
        self.submits = 0
        self.lose_answers = 0
        self.down = False
        self._ids = itertools.count(1)

    def publish_other(self, event_id: str, title: str, text: str, authors: str = "Someone et al.") -> str:
        """Another team's message about the event."""
        with self.lock:
            return self._publish({"title": title, "topic": "hermes.test", "authors": authors, "message_text": text,
                                  "submitter": "someone", "data": {"event_id": event_id}})

    def _publish(self, message: dict) -> str:
        uuid = str(uuidlib.uuid4())
        self.published.append({"id": next(self._ids), "uuid": uuid, "message": message,
                               "event_id": (message.get("data") or {}).get("event_id")})
        return uuid

    def route(self, request: Request) -> Reply:
        if self.down:
            return 503, {"detail": "unavailable"}, {}
        path = request.path[len("/api/v0/"):]
        authed = request.headers.get("authorization") == f"Token {self.token}"
        if path == "submit_message/validate/" and request.method == "POST":
            return 200, errors_of(request.body or {}, self.dev, self.gcn_linked), {}
        if not authed:
            return 401, {"detail": "Authentication credentials were not provided."}, {}
        with self.lock:
            if path == "submit_message/preload/" and request.method == "POST":
                return 201, {"key": str(uuidlib.uuid4())}, {}
            if path == "submit_message/" and request.method == "POST":
                message = dict(request.body or {})
                errors = errors_of(message, self.dev, self.gcn_linked)
                if errors:
                    return 400, errors, {}
                if not self.credential:
                    return 200, {"error": "User account does not have an associated SCIMMA auth credential. Please "
                                          "logout and log back in."}, {}
                self.submits += 1
                if message.pop("submit_to_gcn", False):
                    number = 40000 + len(self.circulars) + 1
                    self.circulars.append({"subject": message["title"], "body": message["message_text"] + (
                        "\n\n This message was sent via HERMES.  A machine readable version can be found at "
                        "https://hermes.lco.global/message/<uuid>"), "format": "text/markdown", "circularId": number})
                    data = message["data"] = dict(message.get("data") or {})
                    data["references"] = [*data.get("references", []), {
                        "source": "gcn_circular", "citation": number,
                        "url": f"https://gcn.nasa.gov/circulars/{number}"}]
                uuid = self._publish(message)
                if self.lose_answers:
                    self.lose_answers -= 1
                    return 502, "<html>Bad Gateway</html>", {}
                return 200, {**message, "uuid": uuid}, {}
            if path == "messages/" and request.method == "GET":
                rows = [m for m in reversed(self.published)
                        if not request.query.get("event_id_exact") or m["event_id"] == request.query["event_id_exact"]]
                offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 100))
                page = rows[offset:offset + limit]
                following = (f"{self.url}messages/?event_id_exact={request.query.get('event_id_exact', '')}"
                             f"&limit={limit}&offset={offset + limit}") if offset + limit < len(rows) else None
                return 200, {"count": len(rows), "next": following, "previous": None,
                             "results": [{"id": m["id"], "uuid": m["uuid"],
                                          "nonlocalizedevents": [{"event_id": m["event_id"]}] if m["event_id"] else [],
                                          "targets": []} for m in page]}, {}
            if path.startswith("query/message/"):
                wanted = path[len("query/message/"):].strip("/")
                for m in self.published:
                    if m["uuid"] == wanted:
                        return 200, {"metadata": {"topic": m["message"].get("topic")}, "annotations": {},
                                     "message": m["message"]}, {}
                return 404, {"error": "not found"}, {}
        return 404, {"detail": "Not found."}, {}
