"""Others' HERMES messages about our active events, posted in each event's channel like circulars: read on a
schedule (``event_id_exact``), each message posted once (the record of it and its post are one transaction),
our own publications left out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import select

from bot.candidates.active import ActiveEvents, where_to_post
from bot.commands.records import HermesNote
from bot.config import Settings
from bot.coordination.hermes import Hermes, HermesError
from bot.delivery.actions import Post
from bot.delivery.outbox import enqueue
from bot.events.maps import MapCache
from bot.slack import blocks as bk
from bot.store import Store
from bot.store.coordination import HermesSeen
from bot.store.events import Event

log = logging.getLogger(__name__)

__all__ = ["HermesFeed"]

MAX_TEXT = 2500  # characters of a message's text shown in Slack (the link has the rest)
MAX_PER_READ = 10  # messages posted per event per read: a first read of a busy event does not flood the channel


class HermesFeed:
    def __init__(self, store: Store, settings: Settings, maps: MapCache, client: Hermes | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.client = client or Hermes(settings.coordination.hermes_api_url, settings.coordination.hermes_api_token)
        self.active = ActiveEvents(store, maps, settings.candidates.window_days, clock)
        self.clock = clock
        self._read_at: dict[str, float] = {}

    def read_due(self) -> int:
        """Read the active events not read for GWBOT_COVERAGE_SECONDS; returns how many messages were posted."""
        if not self.settings.coordination.hermes_api_token:  # HERMES lists messages to authenticated users only
            return 0
        posted = 0
        for target in self.active.targets(force=True):
            if self.clock() - self._read_at.get(target.event_id, -1e18) >= self.settings.coordination.coverage_seconds:
                posted += self.read(target.event_id)
        return posted

    def read(self, event_id: str) -> int:
        self._read_at[event_id] = self.clock()
        try:
            uuids = self.client.event_messages(event_id)
        except HermesError as exc:
            log.warning("cannot read HERMES messages of %s: %s", event_id, exc, extra={"event_id": event_id})
            return 0
        with self.store.session() as s:
            seen = set(s.scalars(select(HermesSeen.uuid).where(HermesSeen.uuid.in_(uuids))))
        posted = 0
        for uuid in [u for u in reversed(uuids) if u not in seen][:MAX_PER_READ]:  # oldest first
            try:
                message = self.client.message(uuid)
            except HermesError as exc:
                log.warning("cannot read HERMES message %s: %s", uuid, exc, extra={"event_id": event_id})
                continue
            note = HermesNote(str(message.get("title") or "(no title)"), str(message.get("authors") or ""),
                              str(message.get("message_text") or "")[:MAX_TEXT], str(message.get("topic") or ""),
                              self.client.message_url(uuid))
            text, blocks = bk.hermes_message(note)
            with self.store.session() as s:
                if s.get(HermesSeen, uuid) is not None:  # another replica took it meanwhile
                    continue
                s.add(HermesSeen(uuid=uuid, event_id=event_id))
                event = s.get(Event, event_id)
                where = where_to_post(event) if event is not None else None
                if where is not None:
                    enqueue(s, Post(where.channel, text, blocks, where.thread), event_id=event_id)
                    posted += 1
            log.info("HERMES message %s about %s %s", uuid, event_id, "posted" if where else "seen (nowhere to post)",
                     extra={"event_id": event_id})
        return posted
