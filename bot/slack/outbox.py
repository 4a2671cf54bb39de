"""The outbox: Slack deliveries kept in the store until Slack has them.

The pipeline enqueues deliveries in the same transaction that records an
alert as handled, so nothing is lost across a crash or a Slack outage. One
worker thread sends them: in id order within a lane (one lane per channel),
lanes independent of each other, honouring 429 Retry-After and backing off
on 5xx and timeouts. A post or upload whose outcome is unknown (in flight when
the process died, or a timeout, dropped connection or 5xx after it was sent)
is looked up first (posts by the delivery id in their metadata, uploads by
their file id) and sent again only if Slack does not have it: nothing is
posted twice and a lane keeps its order.

Nothing stops the loop or blocks a lane for good: an unexpected error is
logged with its delivery and retried; a delivery that keeps failing that way,
or that Slack rejects, is marked failed, reported to the ops channel, and its
lane moves on. Trouble with the token or app setup keeps deliveries pending
and tells the ops channel.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from bot.slack import blocks as bk
from bot.slack.actions import (
    Action,
    Channel,
    Edit,
    MarkRetracted,
    OpenChannel,
    Post,
    ShowPlan,
    Thread,
    Topic,
    Upload,
    from_json,
    lane,
    supersede_key,
    to_json,
)
from bot.slack.target import RetryLater, SlackRejected, SlackTarget
from bot.store import Store, rows_changed
from bot.store.delivery import Delivery, OutboxSender
from bot.store.events import ChannelId, Event, SummaryPost
from bot.store.plans import PlanRecord

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
HEARTBEAT_S = 5.0  # how often a running outbox says it is alive
SENDER_TIMEOUT_S = 30.0  # an outbox silent this long is dead: its deliveries in flight are taken over
MAX_UNEXPECTED = 6  # unclassified failures of one delivery before it is given up (and reported)
ALARM_REPEAT_S = 3600.0
OPEN = ("pending", "in_flight")
EDIT_EVERY_S = 60.0  # a plan's message is edited at most this often (chat.update is Tier 3: ~50 a minute)


#: how a delivery for another service is made: (session, delivery, action) -> (call, finish), as for Slack's
Handler = Callable[[Any, Delivery, Any], tuple[Callable[[], Any], Callable[[Any, Delivery, Any], None]]]


class NoChannel(Exception):
    """The delivery's channel does not exist (its creation failed): skip it."""


def enqueue(session, action: Action, *, event_id: str | None = None, file: bytes | None = None,
            depends_on: int | None = None, clock: Callable[[], float] = time.time) -> Delivery:
    """Add a delivery inside the caller's transaction; its lane (channel) comes from the action.

    An edit that a newer one supersedes is dropped while still queued; a plan's message is edited at most once
    per :data:`EDIT_EVERY_S` (the new edit waits for the slot after the last one sent)."""
    kind, payload = to_json(action)
    key, not_before = supersede_key(action), 0.0
    if key is not None:
        now = clock()
        session.execute(update(Delivery).where(Delivery.supersede_key == key, Delivery.status == "pending")
                        .values(status="dropped", done_at=now))
        last = session.scalar(select(func.max(Delivery.done_at)).where(Delivery.supersede_key == key,
                                                                         Delivery.status == "done"))
        if isinstance(action, ShowPlan) and last is not None:
            not_before = max(0.0, last + EDIT_EVERY_S)
    delivery = Delivery(lane=lane(action), kind=kind, payload=payload, event_id=event_id, file=file,
                        depends_on=depends_on, supersede_key=key, not_before=not_before)
    session.add(delivery)
    session.flush()
    return delivery


class Outbox:
    def __init__(self, store: Store, target: SlackTarget, clock: Callable[[], float] = time.time,
                 ops_channel: str | None = None, services: dict[str, Handler] | None = None) -> None:
        self.store = store
        self.services = services or {}  # delivery kind -> how another service (Treasure Map, HERMES) takes it
        self.target = target
        self.clock = clock
        self.ops_channel = ops_channel
        self._wake = threading.Event()
        self._alarmed: dict[str, float] = {}
        self.sent = 0
        self.sender = uuid.uuid4().hex[:16]  # this process's outbox, as deliveries in flight name it

    def wake(self) -> None:
        self._wake.set()

    def pending(self) -> int:
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status.in_(OPEN))) or 0

    def oldest_pending_age(self) -> float:
        """Seconds since the oldest delivery still waiting was queued (0 when none waits)."""
        with self.store.session() as s:
            oldest = s.scalar(select(func.min(Delivery.created)).where(Delivery.status.in_(OPEN)))
        return 0.0 if oldest is None else max(0.0, self.clock() - oldest)

    def alarm(self, channel: str | None, what: str, detail: str, key: str | None = None) -> None:
        """Tell the ops channel, at most once an hour per ``key``. Queued like any post; when the store itself
        cannot take it (disk full), sent straight to Slack, best effort."""
        key = key or what
        now = self.clock()
        if now - self._alarmed.get(key, -ALARM_REPEAT_S) < ALARM_REPEAT_S or not channel:
            return
        self._alarmed[key] = now
        text, blocks = bk.ops_alarm(what, detail)
        try:
            with self.store.session() as s:
                enqueue(s, Post(Channel(name=channel), text, blocks))
            self.wake()
        except Exception:  # the database is the trouble: go around it
            log.exception("cannot queue an ops message; sending it directly")
            try:
                self.target.post(self.target.resolve_channel(channel), text, blocks, None, False, 0)
            except Exception as exc:
                log.error("cannot tell the ops channel either: %s", exc)

    # --- running ------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        with self.store.session() as s:
            s.merge(OutboxSender(id=self.sender, seen=self.clock()))

    def _beat(self, stop: threading.Event) -> None:
        """Say this outbox is alive, from its own thread, so a long call to Slack does not look like death."""
        while not stop.wait(HEARTBEAT_S):
            try:
                self.heartbeat()
            except Exception as exc:  # the database is away: the other replicas will take over, which is right
                log.warning("outbox heartbeat failed: %s", exc)

    def run(self, stop: threading.Event) -> None:
        """Send until ``stop`` is set; never raises for a delivery's fault."""
        self.heartbeat()
        threading.Thread(target=self._beat, args=(stop,), name="outbox-heartbeat", daemon=True).start()
        self.recover()
        last_recover = self.clock()
        while not stop.is_set():
            if self.clock() - last_recover >= HEARTBEAT_S:
                last_recover = self.clock()
                try:
                    self.recover()
                except Exception:
                    log.exception("cannot look for deliveries a dead replica left in flight")
            try:
                wait = self.step()
            except Exception:  # a bug or a database hiccup must not kill delivery
                log.exception("delivery loop error; retrying in 5 s")
                wait = 5.0
            if wait > 0:
                self._wake.wait(min(wait, 1.0))
                self._wake.clear()

    def drain(self, timeout: float = 60.0) -> bool:
        """Send everything that is ready now (used by replay and tests); True when the outbox is empty."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            wait = self.step()
            if self.pending() == 0:
                return True
            if wait > 0:
                time.sleep(min(wait, 0.5))
        return self.pending() == 0

    def recover(self) -> None:
        """Deliveries left in flight by an outbox that is gone (a crash, or another replica killed) have an unknown
        outcome: they go back in the queue, to be looked up before they are sent again. Those of a live outbox
        (its heartbeat is recent) are left alone."""
        alive_since = self.clock() - SENDER_TIMEOUT_S
        with self.store.session() as s:
            alive = set(s.scalars(select(OutboxSender.id).where(OutboxSender.seen > alive_since)))
            for d in s.scalars(select(Delivery).where(Delivery.status == "in_flight")).all():
                if d.sender in alive:
                    continue
                claimed = rows_changed(s.execute(update(Delivery).where(
                    Delivery.id == d.id, Delivery.status == "in_flight", Delivery.sender == d.sender
                    if d.sender is not None else Delivery.sender.is_(None))
                    .values(status="pending", result={**(d.result or {}), "unknown": True}))) == 1
                if claimed:
                    log.warning("delivery %s was left in flight by outbox %s, which is gone: it will be looked up "
                                "before it is sent again", d.id, d.sender, extra={"event_id": d.event_id})

    def step(self) -> float:
        """Send the ready head of every lane; return seconds until something may be ready."""
        now = self.clock()
        heads: dict[str, Delivery] = {}
        with self.store.session() as s:
            for d in s.scalars(select(Delivery).where(Delivery.status.in_(OPEN)).order_by(Delivery.id)):
                heads.setdefault(d.lane, d)
            ids = [d.id for d in heads.values()]
        if not ids:
            return 1.0
        next_ready = float("inf")
        for delivery_id in ids:
            try:
                wait = self._attempt(delivery_id, now)
            except Exception:  # e.g. the database failing while recording: the other lanes go on
                log.exception("delivery %s could not be attempted; retrying in 5 s", delivery_id)
                wait = 5.0
            next_ready = min(next_ready, wait)
        return max(0.0, next_ready)

    # --- one delivery -------------------------------------------------------------------------

    def _attempt(self, delivery_id: int, now: float) -> float:
        """Resolve in one transaction, call Slack outside any, record the result in another."""
        with self.store.session() as s:
            d = s.get_one(Delivery, delivery_id)
            if d.not_before > now:
                return d.not_before - now
            if d.depends_on is not None and s.get_one(Delivery, d.depends_on).status in OPEN:
                return 0.2
            # claim it: another sender (drain() beside the worker thread) may be looking at it too
            claim = (update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "pending")
                     .values(status="in_flight", started=self.clock(), attempts=Delivery.attempts + 1,
                             sender=self.sender))
            claimed = rows_changed(s.execute(claim)) == 1
            if not claimed:
                return 0.2
            s.refresh(d)
            kind, lane, event_id, attempts = d.kind, d.lane, d.event_id, d.attempts
            call: Callable[[], Any] | None = None
            try:
                call, finish = self._plan(s, d)
            except (NoChannel, SlackRejected) as exc:
                d.status, d.last_error = "failed", str(exc)[:500]
                failed: BaseException | None = exc
            except Exception as exc:  # RetryLater, or a bug while preparing it: retried, within bounds
                d.status, failed = "pending", exc
            else:
                failed = None
        if isinstance(failed, (NoChannel, SlackRejected)):
            self._failed(delivery_id, kind, lane, event_id, failed)
            return 0.0
        try:
            if call is None:
                raise failed or RetryLater("channel lookup failed")
            result = call()
        except SlackRejected as exc:
            with self.store.session() as s:
                row = s.get_one(Delivery, delivery_id)
                row.status, row.last_error = "failed", str(exc)[:500]
            self._failed(delivery_id, kind, lane, event_id, exc)
            return 0.0
        except Exception as exc:  # RetryLater, or anything at all: the loop and the lane go on
            return self._later(delivery_id, kind, lane, event_id, attempts, exc)
        with self.store.session() as s:
            row = s.get_one(Delivery, delivery_id)
            finish(s, row, result)
            row.status, row.done_at = "done", self.clock()
            row.file = None  # delivered pictures are not kept
        self.sent += 1
        log.info("delivered %s %s (lane %s, attempt %s)", kind, delivery_id, lane, attempts,
                 extra={"event_id": event_id})
        return 0.0

    def _later(self, delivery_id: int, kind: str, lane: str, event_id: str | None, attempts: int,
               exc: Exception) -> float:
        """Put a delivery back for a later attempt; give it up after too many unexplained failures."""
        retry = exc if isinstance(exc, RetryLater) else RetryLater(f"{type(exc).__name__}: {exc}", maybe_sent=True,
                                                                    unexpected=True)
        if not isinstance(exc, RetryLater):
            log.exception("delivery %s (%s, lane %s) hit an unexpected error", delivery_id, kind, lane,
                          extra={"event_id": event_id})
        delay = retry.after if retry.after is not None else min(MAX_BACKOFF, 2 ** min(attempts, 9))
        delay *= 1.0 if retry.after is not None else random.uniform(0.8, 1.2)
        with self.store.session() as s:
            row = s.get_one(Delivery, delivery_id)
            result = dict(row.result or {})
            if retry.maybe_sent:
                result["unknown"] = True
            if retry.unexpected:
                result["unexpected"] = result.get("unexpected", 0) + 1
            give_up = result.get("unexpected", 0) >= MAX_UNEXPECTED
            row.result, row.last_error = result, str(retry)[:500]
            row.status, row.not_before = ("failed", row.not_before) if give_up else ("pending", self.clock() + delay)
        if give_up:
            self._failed(delivery_id, kind, lane, event_id, retry)
            return 0.0
        log.warning("delivery %s (%s, lane %s) will retry in %.1f s: %s", delivery_id, kind, lane, delay, retry,
                    extra={"event_id": event_id})
        if retry.setup:
            self.alarm(self.ops_channel, "Slack refuses the bot's token or app setup",
                       f"{retry}. Deliveries stay queued until this is fixed: check SLACK_BOT_TOKEN and the app's "
                       "scopes (app-manifest.yml), then reinstall the app.", key="slack-setup")
        return delay

    def _failed(self, delivery_id: int, kind: str, lane: str, event_id: str | None, exc: BaseException) -> None:
        log.error("delivery %s (%s, lane %s) failed for good: %s", delivery_id, kind, lane, exc,
                  extra={"event_id": event_id})
        if self.ops_channel and lane != f"channel:{self.ops_channel}":
            self.alarm(self.ops_channel, f"A {kind} could not be delivered",
                       f"delivery {delivery_id} ({lane}{', ' + event_id if event_id else ''}): {exc}. "
                       "Later messages go on.", key=f"failed:{delivery_id}")

    def _channel(self, s, where: Channel) -> str:
        if where.event is not None:
            event = s.get(Event, where.event)
            if event is None or not event.channel_id:
                raise NoChannel(f"event {where.event} has no channel")
            return event.channel_id
        name = str(where.name)
        cached = s.get(ChannelId, name)
        if cached:
            return cached.channel_id
        channel_id = self.target.resolve_channel(name)
        s.merge(ChannelId(name=name, channel_id=channel_id))
        return channel_id

    @staticmethod
    def _thread(s, thread: Thread | None, event_id: str | None) -> str | None:
        if thread is None:
            return None
        if thread.ts:
            return thread.ts
        if thread.plan is not None:
            plan = s.get(PlanRecord, thread.plan)
            if plan is None or not plan.message_ts:
                raise NoChannel(f"plan {thread.plan} has no message to thread under")
            return plan.message_ts
        if thread.delivery is not None:
            parent = s.get(Delivery, thread.delivery)
            ts = (parent.result or {}).get("ts") if parent is not None and parent.status == "done" else None
            if not ts:
                raise NoChannel(f"delivery {thread.delivery} posted no message to thread under")
            return ts
        event = s.get(Event, event_id) if thread.event and event_id else None
        return event.thread_ts if event else None

    def _plan(self, s, d: Delivery) -> tuple[Callable[[], Any], Callable[[Any, Delivery, Any], None]]:
        """What to call for this delivery, and how to record its result."""
        action = from_json(d.kind, d.payload)
        t = self.target
        service = self.services.get(d.kind)
        if service is not None:
            return service(s, d, action)

        def nothing(_s, _d, _r) -> None:
            return None

        match action:
            case OpenChannel():
                return self._open_channel(s, action)
            case Post():
                channel = self._channel(s, action.channel)
                thread = self._thread(s, action.thread, d.event_id)
                blocks = self._blocks(s, action.blocks, d.event_id)

                def record(s2, d2, ts) -> None:
                    self._finish_post(s2, d2, action, channel, ts, blocks, root=thread is None)

                return self._posting(d, channel, action.text, blocks, thread, action.broadcast), record
            case Upload():
                return self._uploading(s, d, action), nothing
            case Edit():
                channel = self._channel(s, action.channel)
                return (lambda: t.update(channel, action.ts, action.text, action.blocks)), nothing
            case Topic():
                channel = self._channel(s, action.channel)
                return (lambda: t.set_topic(channel, action.topic)), nothing
            case MarkRetracted():
                posts = [(post.channel_id, post.ts, *bk.mark_retracted(post.text, post.blocks))
                         for post in s.scalars(select(SummaryPost).where(SummaryPost.event_id == action.event_id))]

                def edit_all() -> None:
                    for channel_id, ts, text, blocks in posts:
                        t.update(channel_id, ts, text, blocks)

                return edit_all, nothing
            case ShowPlan():
                return self._show_plan(s, d, action)
        raise NoChannel(f"unknown delivery kind {d.kind}")

    def _posting(self, d: Delivery, channel: str, text: str, blocks: list, thread: str | None,
                 broadcast: bool) -> Callable[[], str]:
        """chat.postMessage, after a look-up when an earlier attempt's outcome is unknown."""
        previous = dict(d.result or {})
        d.result = {**previous, "channel": channel}  # committed before the call: lets a restart look for it
        unknown = previous.get("unknown") and previous.get("channel") == channel
        delivery_id, since, t = d.id, d.created - 60, self.target  # the post cannot be older than its delivery

        def post() -> str:
            found = t.find_post(channel, delivery_id, since) if unknown else None
            if found:
                log.info("delivery %s was already posted (ts %s): not posting again", delivery_id, found)
            return found or t.post(channel, text, blocks, thread, broadcast, delivery_id)

        return post

    def _uploading(self, s, d: Delivery, action: Upload) -> Callable[[], str]:
        channel = self._channel(s, action.channel)
        thread, data = self._thread(s, action.thread, d.event_id), d.file
        if data is None:
            raise NoChannel("upload has no file (already delivered and pruned)")
        previous = dict(d.result or {})
        d.result = {**previous, "channel": channel}
        delivery_id, known_file = d.id, previous.get("file_id") if previous.get("unknown") else None
        t = self.target

        def remember(file_id: str) -> None:
            with self.store.session() as s2:
                row = s2.get_one(Delivery, delivery_id)
                row.result = {**(row.result or {}), "file_id": file_id}

        def upload() -> str:
            if known_file and t.find_upload(channel, known_file):
                log.info("delivery %s was already uploaded (file %s): not uploading again", delivery_id, known_file)
                return known_file
            return t.upload(channel, data, action.filename, action.title, thread, remember)

        return upload

    def _open_channel(self, s, action: OpenChannel):
        event = s.get(Event, action.event_id)
        existing, invite, t = event.channel_id, list(action.invite), self.target

        def make_channel() -> tuple[str, str]:
            channel = (existing, event.channel_name) if existing else t.create_channel(action.name)
            t.invite(channel[0], invite)
            return channel

        def save_channel(s2, d2, channel) -> None:
            row = s2.get(Event, d2.event_id)
            row.channel_id, row.channel_name = channel
            log.info("channel #%s is %s", channel[1], channel[0], extra={"event_id": d2.event_id})
            if channel[1] != action.name:
                self.alarm(self.ops_channel, f"#{action.name} was taken",
                           f"#{action.name} is held by an archived channel or one the bot cannot use, so "
                           f"{d2.event_id}'s channel is #{channel[1]}.", key=f"renamed:{d2.event_id}")

        return make_channel, save_channel

    def _show_plan(self, s, d: Delivery, action: ShowPlan):
        """The plan's message as the plan is now: posted the first time, edited after."""
        plan = s.get_one(PlanRecord, action.plan_id)
        text, blocks = bk.plan_message(plan.view())
        channel = self._channel(s, action.channel)
        if plan.message_ts:
            ts = plan.message_ts
            return (lambda: self.target.update(channel, ts, text, blocks)), lambda _s, _d, _r: None
        if action.edit:  # its own lane: the post that makes the message is still on its way
            raise RetryLater(f"plan {action.plan_id}'s message is not posted yet", after=5.0)

        def record(s2, d2, ts) -> None:
            row = s2.get_one(PlanRecord, action.plan_id)
            row.channel_id, row.message_ts = channel, ts
            d2.result = {"channel": channel, "ts": ts}

        return self._posting(d, channel, text, blocks, None, False), record

    @staticmethod
    def _blocks(s, blocks: list, event_id: str | None) -> list:
        """The post's blocks with the event channel's link filled in."""
        if bk.EVENT_LINK in json.dumps(blocks):
            event = s.get(Event, event_id)
            blocks = bk.fill_event_link(blocks, event.channel_id, event.channel_name)
        return blocks

    def _finish_post(self, s, d: Delivery, action: Post, channel: str, ts: str, blocks: list, root: bool) -> None:
        d.status, d.done_at = "done", self.clock()
        d.result = {"channel": channel, "ts": ts}
        if d.event_id and action.starts_thread and root:
            event = s.get(Event, d.event_id)
            if event is not None and not event.thread_ts:
                event.thread_ts = ts
        if d.event_id and action.record:
            s.add(SummaryPost(event_id=d.event_id, channel_id=channel, ts=ts, blocks=blocks, text=action.text))
