"""The circular's life in Slack, top to bottom: drafted (from :func:`~bot.reporting.campaign.gather`, posted in
the event's or the plan's thread with its text as a snippet, its picture and, for long tables, a CSV), edited (a
new version, kept with who edited it), sent once by an approver through HERMES with ``submit_to_gcn`` (a lost
answer is looked up on HERMES before any resend), and its GCN number said in the thread."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import update

from bot.commands.records import CircularView
from bot.config import Settings
from bot.coordination.coverage import CoverageBook
from bot.coordination.hermes import Hermes, Published, Refused
from bot.delivery.actions import Channel, Post, SendCircular, Thread, Upload
from bot.delivery.outbox import Sender, enqueue
from bot.events.maps import MapCache
from bot.slack import blocks as bk
from bot.store import rows_changed
from bot.store.delivery import Delivery
from bot.store.reporting import CircularRecord

from .campaign import gather
from .circular import write

__all__ = ["Circulars", "GCN_SUBMIT_URL"]

log = logging.getLogger(__name__)

GCN_SUBMIT_URL = "https://gcn.nasa.gov/circulars/new"


def _words(text: str) -> str:
    """HERMES's objections carry HTML links: said as plain words."""
    return re.sub(r"<[^>]+>", "", text)


def _place(row: CircularRecord) -> tuple[Channel, Thread]:
    """The draft's channel and thread, as stored."""
    return Channel(**row.place["channel"]), Thread(**row.place["thread"])


class Circulars:
    def __init__(self, store, settings: Settings, maps: MapCache, coverage: CoverageBook | None,
                 observed_at: Callable[[str, str], float | None], is_approver: Callable[[str], bool],
                 client: Hermes | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.maps = maps
        self.coverage = coverage
        self.observed_at = observed_at
        self.is_approver = is_approver
        self.client = client or Hermes(settings.coordination.hermes_api_url, settings.coordination.hermes_api_token)
        self.clock = clock

    @property
    def can_send(self) -> bool:
        return bool(self.settings.coordination.hermes_api_token)

    def view(self, row: CircularRecord) -> CircularView:
        return CircularView(row.id, row.event_id, row.subject, row.body.count("\n"), row.version, row.status,
                            row.drafted_by, row.edited_by, self.can_send, row.hermes_uuid, row.gcn_id, row.problem,
                            self.client.message_url(row.hermes_uuid) if row.hermes_uuid else None, GCN_SUBMIT_URL)

    # --- draft ----------------------------------------------------------------------------------

    def draft(self, event_id: str, user: str | None, where: Channel, thread: Thread | None,
              with_rejected: bool = False) -> int:
        """Draft the event's circular from what the bot holds now; queue it into ``thread`` (none: the draft's
        message starts one). PlanError when the event has no map."""
        gathered = gather(self.store, self.settings, self.maps, self.coverage, self.observed_at, event_id,
                          with_rejected)
        coordination = self.settings.coordination
        text = write(gathered.campaign, coordination.circular_authors or coordination.hermes_authors)
        with self.store.session() as s:
            row = CircularRecord(event_id=event_id, subject=text.subject, body=text.body, table_csv=text.csv,
                                 drafted_by=user, drafted_at=self.clock(), status="draft", place={})
            s.add(row)
            s.flush()
            posted = enqueue(s, Post(where, *bk.circular_draft(self.view(row)), thread), event_id=event_id)
            thread = thread or Thread(delivery=posted.id)  # what follows goes under the draft
            row.place = {"channel": asdict(where), "thread": asdict(thread)}
            self._snippet(s, row)
            enqueue(s, Upload(where, f"{event_id}-circular.png", f"{event_id}: our fields and candidates", thread),
                    event_id=event_id, file=gathered.picture)
            if text.csv:
                enqueue(s, Upload(where, f"{event_id}-circular-candidates.csv", f"{event_id}: every candidate of "
                                  "interest", thread), event_id=event_id, file=text.csv.encode())
            log.info("GCN circular drafted", extra={"event_id": event_id, "circular": row.id,
                                                    "lines": row.body.count("\n")})
            return row.id

    def _snippet(self, s, row: CircularRecord) -> None:
        """The text as a file in the thread: read and copied whole, with no Slack formatting applied to it."""
        channel, thread = _place(row)
        enqueue(s, Upload(channel, f"{row.event_id}-circular-v{row.version}.md",
                          f"{row.subject} (version {row.version})"[:250], thread),
                event_id=row.event_id, file=f"SUBJECT: {row.subject}\n\n{row.body}".encode())

    def get(self, circular_id: int) -> CircularRecord | None:
        with self.store.session() as s:
            row = s.get(CircularRecord, circular_id)
            if row is not None:
                s.expunge(row)
            return row

    # --- edit -------------------------------------------------------------------------------------

    def edit(self, circular_id: int, user: str, subject: str, body: str) -> str:
        """Keep the edited text as the next version, with who edited it; say so in the thread."""
        with self.store.session() as s:
            row = s.get(CircularRecord, circular_id)
            if row is None:
                return "That draft is gone."
            if row.status != "draft":
                return f"Circular draft {circular_id} is {row.status}: it cannot be edited any more."
            row.subject, row.body = subject.strip(), body.rstrip() + "\n"
            row.version, row.edited_by, row.edited_at = row.version + 1, user, self.clock()
            self._snippet(s, row)
            enqueue(s, Post(_place(row)[0], *bk.circular_draft(self.view(row)), _place(row)[1]), event_id=row.event_id)
            return f"Kept as version {row.version}."

    # --- send -------------------------------------------------------------------------------------

    def send(self, circular_id: int, user: str) -> tuple[bool, str]:
        """Claim the draft for sending (approvers only, once, however often Send is pressed)."""
        if not self.can_send:
            return False, (f"HERMES is not set up (HERMES_API_TOKEN): submit the text yourself at {GCN_SUBMIT_URL}.")
        if not self.is_approver(user):
            return False, "Only the approvers set in GWBOT_APPROVERS may send a circular."
        with self.store.session() as s:
            claimed = rows_changed(s.execute(update(CircularRecord).where(
                CircularRecord.id == circular_id, CircularRecord.status == "draft")
                .values(status="sending", sent_by=user, problem=None))) == 1
            row = s.get(CircularRecord, circular_id)
            if row is None:
                return False, "That draft is gone."
            if claimed:
                enqueue(s, SendCircular(circular_id), event_id=row.event_id)
                return True, f"Sending circular draft {circular_id} (version {row.version}) through HERMES…"
            return False, f"Circular draft {circular_id} is {row.status}: not sent again."

    def message_for(self, row: CircularRecord) -> dict[str, Any]:
        """The HERMES message that HERMES passes on to GCN (``submit_to_gcn``): the title is the subject."""
        coordination = self.settings.coordination
        return {"title": row.subject, "topic": coordination.hermes_topic,
                "submitter": coordination.hermes_submitter or "gwbot",
                "authors": coordination.circular_authors or coordination.hermes_authors,
                "message_text": row.body, "submit_to_gcn": True,
                "data": {"event_id": row.event_id, "gwbot_circular": f"gwbot:{row.event_id}:circular:{row.id}"}}

    def sender(self) -> Sender:
        """The outbox's way of making a :class:`SendCircular` delivery: submit once; after an unknown outcome, find
        the message on HERMES (by its reference) before submitting again."""
        def make(session, delivery: Delivery, action: SendCircular):
            row = session.get_one(CircularRecord, action.circular_id)
            message, event_id, circular_id = self.message_for(row), row.event_id, row.id
            reference = message["data"]["gwbot_circular"]
            unknown = bool((delivery.result or {}).get("unknown"))

            def call() -> Published | Refused:
                return self.client.submit_once(message, event_id, lambda found: (found.get("data") or {}).get(
                    "gwbot_circular") == reference, unknown)

            def finish(s2, _d, outcome: Published | Refused) -> None:
                circular = s2.get_one(CircularRecord, circular_id)
                if isinstance(outcome, Refused):
                    reason = _words(outcome.reason)
                    circular.status, circular.problem = "draft", reason[:1000]
                    log.warning("circular %s refused: %s", circular_id, reason, extra={"event_id": event_id})
                else:
                    circular.status, circular.sent_at = "sent", self.clock()
                    circular.hermes_uuid, circular.gcn_id = outcome.uuid, outcome.gcn_circular
                    log.info("circular %s sent as HERMES %s, GCN %s", circular_id, outcome.uuid, outcome.gcn_circular,
                             extra={"event_id": event_id})
                enqueue(s2, Post(_place(circular)[0], *bk.circular_sent(self.view(circular)), _place(circular)[1]),
                        event_id=event_id)

            return call, finish

        return make
