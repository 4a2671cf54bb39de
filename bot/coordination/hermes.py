"""HERMES (hermes.lco.global), where astronomers post and read reports on the SCiMMA streams: a small client.

Rules followed, from LCOGT/hermes @ 67083891 (``hermes/views.py``, ``hermes/serializers.py``,
``hermes_base/urls.py``, ``hermes_base/settings.py``) and LCOGT/hermes-frontend (``src/router/index.js``,
``src/views/SubmitMessage.vue``):
- ``Authorization: Token <key>`` (DRF TokenAuthentication);
- ``POST submit_message/validate/`` answers 200 with ``{}`` or DRF field errors;
- ``POST submit_message/`` answers 200 with the message and its ``uuid``; without a SCiMMA credential stored
  in HERMES it answers 200 with ``{"error": ...}`` and publishes nothing; refusals are 400; with
  ``submit_to_gcn`` it also posts the text to GCN as a Circular and adds a ``gcn_circular`` reference;
- ``POST submit_message/preload/`` answers 201 ``{"key"}``, which the web form opens at
  ``/submit-message?id=<key>`` for 15 minutes;
- ``GET messages/?event_id_exact=`` (authenticated, LimitOffset pages of 100) lists ``{id, uuid, ...}``;
  ``GET query/message/<uuid>/`` gives the message itself (``{metadata, message: {title, authors, ...}}``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.delivery.errors import RetryLater
from bot.web import HttpTrouble, JsonService, drf_errors

__all__ = ["Hermes", "HermesError", "Published", "Refused", "gcn_circular_of"]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://hermes.lco.global/api/v0/"
MAX_PAGES = 20


class HermesError(Exception):
    """In words; ``retry``: HERMES could not be reached or failed; ``maybe_sent``: it may have published."""

    def __init__(self, message: str, retry: bool = False, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class Published:
    uuid: str
    topic: str
    gcn_circular: str | None = None  # the GCN circular number HERMES got back, when sent on with submit_to_gcn


@dataclass(frozen=True)
class Refused:
    """HERMES's objection to a message, in words: the outbox does not retry it."""

    reason: str


def gcn_circular_of(message: dict[str, Any]) -> str | None:
    """The GCN circular number HERMES adds to a message it sent on (``views.py`` ``create``: a ``gcn_circular``
    reference in ``data.references``)."""
    for ref in (message.get("data") or {}).get("references") or ():
        if isinstance(ref, dict) and ref.get("source") == "gcn_circular" and ref.get("citation") is not None:
            return str(ref["citation"])
    return None


class Hermes:
    def __init__(self, base_url: str = DEFAULT_URL, token: str | None = None, timeout: float = 30.0) -> None:
        self.service = JsonService("HERMES", base_url, {"Authorization": f"Token {token}"} if token else {}, timeout)

    @property
    def web_root(self) -> str:
        """The web site's root (the API lives under ``api/v0/`` there)."""
        base = self.service.base_url
        return base[: base.index("api/v0/")] if "api/v0/" in base else base

    def preload_url(self, key: str) -> str:
        return f"{self.web_root}submit-message?id={key}"

    def message_url(self, uuid: str) -> str:
        return f"{self.web_root}message/{uuid}"

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        try:
            return self.service.call(method, path, body, query)
        except HttpTrouble as exc:
            if exc.status == 400:
                lines = drf_errors(exc.body) if isinstance(exc.body, (dict, list)) else [str(exc.body)]
                raise HermesError("HERMES refused it: " + "; ".join(lines[:10])) from None
            if exc.status in (401, 403):
                raise HermesError(f"HERMES refused the token ({exc.status}): check HERMES_API_TOKEN") from None
            raise HermesError(str(exc), retry=exc.retry, maybe_sent=exc.maybe_sent) from None

    def validate(self, message: dict[str, Any]) -> list[str]:
        """HERMES's objections to the message, in words (none: it can be published)."""
        answer = self._call("POST", "submit_message/validate/", message)
        return drf_errors(answer) if answer else []

    def preload(self, message: dict[str, Any]) -> str:
        return str(self._call("POST", "submit_message/preload/", message)["key"])

    def submit(self, message: dict[str, Any]) -> Published:
        answer = self._call("POST", "submit_message/", message)
        if not isinstance(answer, dict) or answer.get("error") or not answer.get("uuid"):
            raise HermesError(f"HERMES did not publish it: {(answer or {}).get('error', 'no uuid in the answer')}")
        return Published(str(answer["uuid"]), str(answer.get("topic", message.get("topic"))), gcn_circular_of(answer))

    def event_messages(self, event_id: str) -> list[str]:
        """UUIDs of the messages HERMES links to the event, newest first."""
        out: list[str] = []
        query: dict[str, Any] | None = {"event_id_exact": event_id, "limit": 100}
        path = "messages/"
        for _ in range(MAX_PAGES):
            page = self._call("GET", path, query=query)
            out += [str(m["uuid"]) for m in page.get("results", []) if m.get("uuid")]
            following = page.get("next")
            if not following:
                break
            path, query = following.split("api/v0/", 1)[-1], None
        return out

    def message(self, uuid: str) -> dict[str, Any]:
        """The message itself (title, authors, message_text, data, ...)."""
        answer = self._call("GET", f"query/message/{uuid}/")
        return dict(answer.get("message") or {}) if isinstance(answer, dict) else {}

    def published_as(self, event_id: str, is_ours: Callable[[dict[str, Any]], bool]) -> Published | None:
        """Our message about the event, when HERMES already has it (``is_ours`` knows it by its reference)."""
        for uuid in self.event_messages(event_id):
            found = self.message(uuid)
            if is_ours(found):
                return Published(uuid, str(found.get("topic") or ""), gcn_circular_of(found))
        return None

    def submit_once(self, message: dict[str, Any], event_id: str, is_ours: Callable[[dict[str, Any]], bool],
                    look_first: bool) -> Published | Refused:
        """For an outbox sender: submit, unless a try whose answer was lost (``look_first``) already published it.
        HERMES's refusal comes back as :class:`Refused`; trouble reaching it raises :class:`RetryLater`."""
        try:
            already = self.published_as(event_id, is_ours) if look_first else None
            if already is not None:
                log.info("HERMES already has it as %s: not submitted again", already.uuid,
                         extra={"event_id": event_id})
                return already
            return self.submit(message)
        except HermesError as exc:
            if exc.retry:
                raise RetryLater(str(exc), maybe_sent=exc.maybe_sent) from None
            return Refused(str(exc))
