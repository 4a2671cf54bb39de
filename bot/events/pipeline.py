"""Stream in, parse, store, render, deliver: what happens to each message.

``Pipeline.handle`` is idempotent: a message handled before (same
de-duplication key) does nothing, and one whose handling was cut short
resumes where it stopped. The caller commits the Kafka offset only after
``handle`` returns, so every alert is posted exactly once across crashes.
The summary text is enqueued (and so starts going out) before the picture is
rendered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.config import Settings
from bot.delivery.actions import Channel, MarkRetracted, OpenChannel, Post, Thread, Topic, Upload
from bot.delivery.outbox import Outbox, enqueue
from bot.events import routing
from bot.events.facts import EventFacts
from bot.ingest.decode import RawMessage, Unsupported, decode, dedup_key
from bot.ingest.gcn import Circular, Notice
from bot.ingest.gwalert import AlertError, GWAlert, epoch
from bot.skymap.io import SkymapError, read_skymap
from bot.skymap.prepared import PreparedMap, prepare
from bot.skymap.render import labels_for, render_png
from bot.skymap.summary import Summary, summarize
from bot.slack import blocks as bk
from bot.slack.target import channel_name_for
from bot.store import Store
from bot.store.events import Event, Handled, SkymapVersion, TopicProgress, latest_map_query

log = logging.getLogger(__name__)


def _topic(event: Event, alert_type: str | None) -> Topic:
    """The event channel's topic from the event's stored facts."""
    return Topic(event.event_id, bk.event_topic(alert_type or "", EventFacts.from_json(event.facts), event.retracted))


class EventHooks(Protocol):
    """What other parts of the bot want to hear about an event (the plans: a newer sky map or a retraction
    supersedes open plans). Called inside the transaction that records the alert."""

    def map_changed(self, session, event_id: str, reason: str) -> None: ...

    def retracted(self, session, event_id: str) -> None:
        """The event was retracted (after :meth:`map_changed`): what was submitted for it is cancelled."""
        ...

    def new_map(self, session, alert: GWAlert, facts: EventFacts, version: int) -> None:
        """A real alert with a new GW map passed the alerts channel's rules: the follow-up rules judge it."""
        ...


class NoHooks:
    def map_changed(self, session, event_id: str, reason: str) -> None:
        return None

    def retracted(self, session, event_id: str) -> None:
        return None

    def new_map(self, session, alert: GWAlert, facts: EventFacts, version: int) -> None:
        return None


class Pipeline:
    def __init__(self, settings: Settings, store: Store, outbox: Outbox,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC), hooks: EventHooks | None = None) -> None:
        self.settings = settings
        self.store = store
        self.outbox = outbox
        self.now = now
        self.hooks = hooks or NoHooks()
        self._skipped_topics: set[str] = set()
        self.last_error: str | None = None  # why the last malformed message was refused (for replay)

    # --- entry point ----------------------------------------------------------------------------

    def handle(self, raw: RawMessage) -> str:
        """Handle one message; returns what happened: posted, duplicate, ignored or malformed."""
        where = {"topic": raw.topic, "partition": raw.partition, "offset": raw.offset}
        self._progress(raw)
        try:
            message = decode(raw.topic, raw.value, raw.headers)
        except Unsupported as exc:
            if raw.topic not in self._skipped_topics:  # one line per topic, not one per message
                self._skipped_topics.add(raw.topic)
                log.warning("skipping topic %s: %s", raw.topic, exc, extra=where)
            return "skipped"
        except AlertError as exc:
            return self._malformed(raw, str(exc))
        key = dedup_key(message, raw.value or b"")
        with self.store.session() as s:
            handled = s.get(Handled, key)
            stage = handled.stage if handled else None
        if stage == "done":
            log.info("duplicate message %s skipped", key, extra=where)
            return "duplicate"
        if isinstance(message, GWAlert):
            if stage is None and message.problems:
                self.alarm(f"{message.superevent_id} {message.alert_type}: fields shown as unknown",
                           "; ".join(message.problems), key=f"problems:{key}")
            return self._gw(message, key, raw, stage)
        return self._gcn(message, key, raw)

    def _too_old(self, created: float | None) -> bool:
        """Older than GWBOT_POST_MAX_AGE: stored, not posted (a new consumer group reads the retained backlog)."""
        return created is not None and self.now().timestamp() - created > self.settings.hop.post_max_age_s

    def _silently(self, s, raw: RawMessage, what: str) -> None:
        progress = s.get(TopicProgress, raw.topic)
        if progress is not None:
            progress.silent = (progress.silent or 0) + 1
        log.info("%s is older than GWBOT_POST_MAX_AGE: stored, not posted", what,
                 extra={"topic": raw.topic, "offset": raw.offset, "taken_in_silently": progress.silent if progress
                        else None})

    # --- GW alerts ------------------------------------------------------------------------------

    def _summary_channel(self, alert: GWAlert) -> str | None:
        return self.settings.channels.mock if alert.is_mock else self.settings.channels.alerts

    def _gw(self, alert: GWAlert, key: str, raw: RawMessage, stage: str | None) -> str:
        ctx = {"event_id": alert.superevent_id, "alert_type": alert.alert_type, "offset": raw.offset}
        if alert.is_mock and not self.settings.channels.mock:
            self._mark(key, "gw", alert.superevent_id, raw, "done")
            log.info("mock alert %s %s ignored (no GWBOT_MOCK_CHANNEL)", alert.superevent_id, alert.alert_type,
                     extra=ctx)
            return "ignored"
        silent = self._too_old(alert.created)
        if alert.alert_type == "RETRACTION":
            return self._retraction(alert, key, raw, silent)
        prepared, summary = self._read_map(alert, alert.skymap, raw, "sky map")
        combined = self._read_map(alert, alert.combined_skymap, raw, "combined sky map")[1]
        if silent:
            self._store(alert, key, raw, summary, silent=True)
            return "silent"
        summary_channel = self._summary_channel(alert)
        to_summary = summary_channel is not None and routing.matches(self.settings.channels.routing.alerts, alert)
        if stage is None:
            self._enqueue_text(alert, key, raw, summary, combined, to_summary, summary_channel)
            log.info("alert %s %s: summary queued", alert.superevent_id, alert.alert_type, extra=ctx)
        with self.store.session() as s:
            wants_channel = bool(s.get_one(Event, alert.superevent_id).wants_channel)
        png = None
        if prepared is not None and summary is not None and (to_summary or wants_channel):
            t0 = time.perf_counter()
            png = render_png(prepared, labels_for(summary, alert.superevent_id, alert.alert_type))
            log.info("alert %s %s: picture rendered in %.2f s", alert.superevent_id, alert.alert_type,
                     time.perf_counter() - t0, extra=ctx)
        sid = alert.superevent_id
        with self.store.session() as s:
            if png is not None:
                filename, title = f"{sid}-{alert.alert_type.lower()}.png", f"{sid} {alert.alert_type} sky map"
                if wants_channel:
                    enqueue(s, Upload(Channel(event=sid), filename, title), event_id=sid, file=png)
                if to_summary:
                    enqueue(s, Upload(Channel(name=summary_channel), filename, title, Thread(event=True)),
                            event_id=sid, file=png)
            s.get_one(Handled, key).stage = "done"
        self.outbox.wake()
        return "posted"

    def _read_map(self, alert: GWAlert, data: bytes | None, raw: RawMessage, what: str
                  ) -> tuple[PreparedMap | None, Summary | None]:
        if data is None:
            return None, None
        ctx = {"event_id": alert.superevent_id, "alert_type": alert.alert_type, "offset": raw.offset}
        try:
            prepared = prepare(read_skymap(data, max_bytes=int(self.settings.store.max_skymap_mb * 2**20)))
        except SkymapError as exc:
            log.error("alert %s %s: %s unreadable: %s", alert.superevent_id, alert.alert_type, what, exc, extra=ctx)
            self.report(raw, f"{alert.superevent_id} {alert.alert_type}: {what} unreadable: {exc}")
            return None, None
        for warning in prepared.skymap.meta.get("warnings", []):
            log.warning("alert %s %s: %s: %s", alert.superevent_id, alert.alert_type, what, warning, extra=ctx)
        return prepared, summarize(prepared)

    def _store(self, alert: GWAlert, key: str, raw: RawMessage, summary: Summary | None, silent: bool = False) -> bool:
        """Record the alert, its facts (unless a newer alert already set them) and its sky maps; True when this
        alert is the event's newest. Runs in its own transaction (``silent``) or the caller's."""
        with self.store.session() as s:
            newest = self._record(s, alert, key, raw, summary)
            if silent:
                self._silently(s, raw, f"alert {alert.superevent_id} {alert.alert_type}")
                s.add(Handled(key=key, kind="gw", event_id=alert.superevent_id, topic=raw.topic,
                              partition=raw.partition, offset=raw.offset, stage="done"))
        return newest

    def _record(self, s, alert: GWAlert, key: str, raw: RawMessage, summary: Summary | None,
                blocks: tuple[str, list] | None = None) -> bool:
        event = self._event(s, alert)
        last = epoch(event.last_alert_time)
        created = alert.created
        newest = last is None or created is None or created >= last
        if newest:
            event.facts = EventFacts.of(alert, summary).to_json()
            if blocks is not None:
                event.summary = {"text": blocks[0], "blocks": blocks[1]}
            event.last_alert_type, event.last_alert_time = alert.alert_type, alert.time_created
            event.updated = time.time()
        when = created if created is not None else time.time()
        if alert.skymap is not None:
            s.add(SkymapVersion(event_id=alert.superevent_id, alert_key=key, alert_type=alert.alert_type,
                                fits=alert.skymap, kind="gw", created=when))
        if alert.combined_skymap is not None and alert.external_coinc is not None:
            s.add(SkymapVersion(event_id=alert.superevent_id, alert_key=key, alert_type=alert.alert_type,
                                fits=alert.combined_skymap, kind="combined", created=when,
                                observatory=alert.external_coinc.observatory[:40]))
        return newest

    def _enqueue_text(self, alert: GWAlert, key: str, raw: RawMessage, summary: Summary | None,
                      combined: Summary | None, to_summary: bool, summary_channel: str | None) -> None:
        sid = alert.superevent_id
        with self.store.session() as s:
            event = self._event(s, alert)
            ensure = None
            if not event.wants_channel and routing.matches(self.settings.channels.routing.event_channels, alert):
                event.wants_channel = True
                name = event.channel_name or channel_name_for(sid, self.settings.channels.prefix)
                ensure = enqueue(s, OpenChannel(sid, name, self.settings.channels.invite_users), event_id=sid)
            text, blocks = bk.gw_summary(alert, summary, self.now(), bk.EVENT_LINK if event.wants_channel else None,
                                         retracted=event.retracted, combined=combined)
            newest = self._record(s, alert, key, raw, summary, (text, blocks))
            if not newest:
                log.info("alert %s %s is older than the event's latest (%s): posted in the thread only", sid,
                         alert.alert_type, event.last_alert_time, extra={"event_id": sid, "offset": raw.offset})
            after = ensure.id if ensure else None
            if to_summary:
                enqueue(s, Post(Channel(name=summary_channel), text, blocks, Thread(event=True), starts_thread=newest,
                                record=True), event_id=sid, depends_on=after)
            if event.wants_channel:
                event_text, event_blocks = bk.gw_summary(alert, summary, self.now(), None, retracted=event.retracted,
                                                         combined=combined)
                enqueue(s, Post(Channel(event=sid), event_text, event_blocks, record=True), event_id=sid)
            for route in self.settings.channels.routing.routes:
                if routing.matches(route.rule, alert, route=True):
                    enqueue(s, Post(Channel(name=route.channel), text, blocks, record=True), event_id=sid,
                            depends_on=after)
            event.summary_channel = summary_channel
            if event.wants_channel and newest:
                enqueue(s, _topic(event, event.last_alert_type), event_id=sid)
            if alert.skymap is not None and newest:
                self.hooks.map_changed(s, sid, f"a newer sky map arrived ({alert.alert_type} alert)")
                if to_summary:
                    s.flush()
                    version = s.scalar(latest_map_query(sid).with_only_columns(SkymapVersion.id))
                    self.hooks.new_map(s, alert, EventFacts.from_json(event.facts), int(version))
            s.add(Handled(key=key, kind="gw", event_id=sid, topic=raw.topic, partition=raw.partition,
                          offset=raw.offset, stage="text"))
        self.outbox.wake()

    def _event(self, s, alert: GWAlert) -> Event:
        """The event's row, created (with its channel name) on its first alert."""
        event = s.get(Event, alert.superevent_id)
        if event is None:
            prefix = self.settings.channels.mock_prefix if alert.is_mock else self.settings.channels.prefix
            event = Event(event_id=alert.superevent_id, is_mock=alert.is_mock, wants_channel=False, facts={},
                          channel_name=channel_name_for(alert.superevent_id, prefix))
            s.add(event)
        return event

    def _retraction(self, alert: GWAlert, key: str, raw: RawMessage, silent: bool) -> str:
        sid = alert.superevent_id
        summary_channel = None if silent else self._summary_channel(alert)
        text, blocks = bk.gw_retraction(alert)
        with self.store.session() as s:
            event = self._event(s, alert)
            event.retracted = True
            self.hooks.map_changed(s, sid, "the event was retracted")
            self.hooks.retracted(s, sid)
            event.last_alert_type, event.last_alert_time = alert.alert_type, alert.time_created
            event.updated = time.time()
            if silent:
                self._silently(s, raw, f"retraction of {sid}")
                s.add(Handled(key=key, kind="gw", event_id=sid, topic=raw.topic, partition=raw.partition,
                              offset=raw.offset, stage="done"))
                return "silent"
            last = None
            if summary_channel:
                last = enqueue(s, Post(Channel(name=summary_channel), text, blocks, Thread(event=True), broadcast=True,
                                       starts_thread=True), event_id=sid)
            where = Channel(name=summary_channel) if summary_channel else None
            if event.wants_channel:
                where = Channel(event=sid)
                enqueue(s, Post(where, text, blocks), event_id=sid)
                enqueue(s, _topic(event, "RETRACTION"), event_id=sid)
            if where:
                enqueue(s, MarkRetracted(sid, where), event_id=sid, depends_on=last.id if last else None)
            s.add(Handled(key=key, kind="gw", event_id=sid, topic=raw.topic, partition=raw.partition,
                          offset=raw.offset, stage="done"))
        self.outbox.wake()
        log.info("alert %s RETRACTION queued", sid, extra={"event_id": sid, "offset": raw.offset})
        return "posted"

    # --- circulars and notices ------------------------------------------------------------------

    def _gcn(self, message: Circular | Notice, key: str, raw: RawMessage) -> str:
        text, blocks = bk.circular(message) if isinstance(message, Circular) else bk.notice(message)
        posted = False
        if self._too_old(raw.timestamp):
            with self.store.session() as s:
                self._silently(s, raw, f"{type(message).__name__} about {', '.join(message.event_ids) or 'no event'}")
                s.add(Handled(key=key, kind=type(message).__name__.lower(), topic=raw.topic,
                              partition=raw.partition, offset=raw.offset, stage="done"))
            return "silent"
        with self.store.session() as s:
            for sid in message.event_ids:
                event = s.get(Event, sid)
                if event is None:
                    continue
                if event.wants_channel:
                    enqueue(s, Post(Channel(event=sid), text, blocks), event_id=sid)
                    posted = True
                if event.summary_channel:
                    enqueue(s, Post(Channel(name=event.summary_channel), text, blocks, Thread(event=True)),
                            event_id=sid)
                    posted = True
            test = isinstance(message, Notice) and message.test
            if not posted and self.settings.channels.notices and not test:
                enqueue(s, Post(Channel(name=self.settings.channels.notices), text, blocks))
                posted = True
            s.add(Handled(key=key, kind=type(message).__name__.lower(), event_id=",".join(message.event_ids) or None,
                          topic=raw.topic, partition=raw.partition, offset=raw.offset, stage="done"))
        self.outbox.wake()
        about = ", ".join(message.event_ids) or "no known event"
        log.info("%s about %s: %s", type(message).__name__, about, "queued" if posted else "not posted",
                 extra={"topic": raw.topic, "offset": raw.offset})
        return "posted" if posted else "ignored"

    # --- bad input --------------------------------------------------------------------------------

    def _malformed(self, raw: RawMessage, reason: str) -> str:
        self.last_error = reason
        key = f"bad:{raw.topic}:{raw.partition}:{raw.offset}"
        with self.store.session() as s:
            if s.get(Handled, key) is not None:
                return "duplicate"
        log.error("malformed message on %s [%s] @ %s: %s", raw.topic, raw.partition, raw.offset, reason,
                  extra={"topic": raw.topic, "partition": raw.partition, "offset": raw.offset})
        self.report(raw, reason, key=key)
        return "malformed"

    def report(self, raw: RawMessage, reason: str, key: str | None = None) -> None:
        """Tell the ops channel once (and remember that we did)."""
        with self.store.session() as s:
            if self.settings.channels.ops:
                text, blocks = bk.ops_error(raw.topic, raw.partition, raw.offset, reason)
                enqueue(s, Post(Channel(name=self.settings.channels.ops), text, blocks))
            if key:
                s.add(Handled(key=key, kind="malformed", topic=raw.topic, partition=raw.partition,
                              offset=raw.offset, stage="done"))
        self.outbox.wake()

    def alarm(self, what: str, detail: str, key: str | None = None) -> None:
        """Tell the people running the bot (log and ops channel), once per ``key``."""
        log.error("%s: %s", what, detail)
        self.outbox.alarm(self.settings.channels.ops, what, detail, key)

    def _mark(self, key: str, kind: str, event_id: str | None, raw: RawMessage, stage: str) -> None:
        with self.store.session() as s:
            s.merge(Handled(key=key, kind=kind, event_id=event_id, topic=raw.topic, partition=raw.partition,
                            offset=raw.offset, stage=stage))

    def _progress(self, raw: RawMessage) -> None:
        with self.store.session() as s:
            s.merge(TopicProgress(topic=raw.topic, last_received=time.time(), last_offset=raw.offset))
