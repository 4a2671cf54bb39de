"""The outbox: Slack deliveries kept in the store until Slack has them.

The pipeline enqueues deliveries in the same transaction that records an
alert as handled, so nothing is lost across a crash or a Slack outage. One
worker thread sends them: in id order within a lane (one lane per channel),
lanes independent of each other, honouring 429 Retry-After and backing off
on 5xx and timeouts. A post that was in flight when the process died is
looked up in the channel history (by the delivery id in its metadata) before
it is sent again, so a restart does not post twice.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from . import blocks as bk
from .slack import RetryLater, SlackRejected, SlackTarget
from .store import ChannelId, Delivery, Event, Post, Store

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
OPEN = ("pending", "in_flight")
EVENT_LINK = "{event_channel}"


class NoChannel(Exception):
    """The delivery's channel does not exist (its creation failed): skip it."""


def enqueue(session, lane: str, kind: str, payload: dict[str, Any], *, event_id: str | None = None,
            file: bytes | None = None, depends_on: int | None = None) -> Delivery:
    """Add a delivery inside the caller's transaction."""
    delivery = Delivery(lane=lane, kind=kind, payload=payload, event_id=event_id, file=file, depends_on=depends_on)
    session.add(delivery)
    session.flush()
    return delivery


class Outbox:
    def __init__(self, store: Store, target: SlackTarget, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.target = target
        self.clock = clock
        self._wake = threading.Event()
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    def pending(self) -> int:
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status.in_(OPEN))) or 0

    # --- running ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Send until ``stop`` is set; never raises for a delivery's fault."""
        self.recover()
        while not stop.is_set():
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
        """After a crash: settle deliveries that were in flight."""
        with self.store.session() as s:
            stuck = s.scalars(select(Delivery).where(Delivery.status == "in_flight")).all()
            for d in stuck:
                ts = None
                if d.kind == "post" and d.result and d.result.get("channel"):
                    try:
                        ts = self.target.find_post(d.result["channel"], d.id, (d.started or d.created) - 60)
                    except (RetryLater, SlackRejected) as exc:
                        log.warning("cannot check history for delivery %s: %s", d.id, exc)
                if ts:
                    log.info("delivery %s was already posted before the restart (ts %s)", d.id, ts)
                    self._finish_post(s, d, d.result["channel"], ts)
                else:
                    d.status = "pending"

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
            wait = self._attempt(delivery_id, now)
            next_ready = min(next_ready, wait)
        return max(0.0, next_ready)

    # --- one delivery -------------------------------------------------------------------------

    def _attempt(self, delivery_id: int, now: float) -> float:
        """Resolve in one transaction, call Slack outside any, record the result in another."""
        with self.store.session() as s:
            d = s.get(Delivery, delivery_id)
            if d.not_before > now:
                return d.not_before - now
            if d.depends_on is not None and s.get(Delivery, d.depends_on).status in OPEN:
                return 0.2
            # claim it: another sender (drain() beside the worker thread) may be looking at it too
            claimed = s.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "pending")
                                .values(status="in_flight", started=self.clock(),
                                        attempts=Delivery.attempts + 1)).rowcount == 1
            if not claimed:
                return 0.2
            s.refresh(d)
            kind, lane, event_id, attempts = d.kind, d.lane, d.event_id, d.attempts
            try:
                call, finish = self._plan(s, d)
            except (NoChannel, SlackRejected) as exc:
                d.status, d.last_error = "failed", str(exc)[:500]
                log.error("delivery %s (%s, lane %s) skipped: %s", delivery_id, kind, lane, exc,
                          extra={"event_id": event_id})
                return 0.0
            except RetryLater:
                d.status = "pending"
                call = None
        try:
            if call is None:
                raise RetryLater("channel lookup failed")
            result = call()
        except RetryLater as exc:
            delay = exc.after if exc.after is not None else min(MAX_BACKOFF, 2 ** min(attempts, 9))
            delay *= 1.0 if exc.after is not None else random.uniform(0.8, 1.2)
            with self.store.session() as s:
                row = s.get(Delivery, delivery_id)
                row.status, row.not_before, row.last_error = "pending", self.clock() + delay, str(exc)[:500]
            log.warning("delivery %s (%s, lane %s) will retry in %.1f s: %s", delivery_id, kind, lane,
                        delay, exc, extra={"event_id": event_id})
            return delay
        except SlackRejected as exc:
            with self.store.session() as s:
                row = s.get(Delivery, delivery_id)
                row.status, row.last_error = "failed", str(exc)[:500]
            log.error("delivery %s (%s, lane %s) failed for good: %s", delivery_id, kind, lane, exc,
                      extra={"event_id": event_id})
            return 0.0
        with self.store.session() as s:
            row = s.get(Delivery, delivery_id)
            finish(s, row, result)
            row.status, row.done_at = "done", self.clock()
        self.sent += 1
        log.info("delivered %s %s (lane %s, attempt %s)", kind, delivery_id, lane, attempts,
                 extra={"event_id": event_id})
        return 0.0

    def _channel(self, s, spec: dict[str, str]) -> str:
        if "event" in spec:
            event = s.get(Event, spec["event"])
            if event is None or not event.channel_id:
                raise NoChannel(f"event {spec['event']} has no channel")
            return event.channel_id
        name = spec["name"]
        cached = s.get(ChannelId, name)
        if cached:
            return cached.channel_id
        channel_id = self.target.resolve_channel(name)
        s.merge(ChannelId(name=name, channel_id=channel_id))
        return channel_id

    def _thread(self, s, d: Delivery) -> str | None:
        if d.payload.get("thread_ts"):
            return d.payload["thread_ts"]
        if d.payload.get("thread") != "event" or not d.event_id:
            return None
        event = s.get(Event, d.event_id)
        return event.thread_ts if event else None

    def _plan(self, s, d: Delivery) -> tuple[Callable[[], Any], Callable[[Any, Delivery, Any], None]]:
        """What to call for this delivery, and how to record its result."""
        p, t = d.payload, self.target

        def nothing(_s, _d, _r) -> None:
            return None

        if d.kind == "ensure_channel":
            event = s.get(Event, d.event_id)
            existing, invite = event.channel_id, list(p.get("invite", []))

            def make_channel() -> str:
                channel_id = existing or t.create_channel(p["name"])
                t.invite(channel_id, invite)
                return channel_id

            def save_channel(s2, d2, channel_id) -> None:
                s2.get(Event, d2.event_id).channel_id = channel_id
                log.info("channel #%s is %s", p["name"], channel_id, extra={"event_id": d2.event_id})

            return make_channel, save_channel
        if d.kind == "post":
            channel, thread = self._channel(s, p["channel"]), self._thread(s, d)
            text, blocks = p["text"], self._blocks(s, d)
            d.result = {"channel": channel}  # committed before the call: lets recover() look for it
            delivery_id = d.id

            def record(s2, d2, ts) -> None:
                self._finish_post(s2, d2, channel, ts, text=text, blocks=blocks, root=thread is None)

            return (lambda: t.post(channel, text, blocks, thread, bool(p.get("broadcast")), delivery_id)), record
        if d.kind == "upload":
            channel, thread, data = self._channel(s, p["channel"]), self._thread(s, d), d.file
            return (lambda: t.upload(channel, data, p["filename"], p["title"], thread)), nothing
        if d.kind == "update":
            channel = self._channel(s, p["channel"])
            return (lambda: t.update(channel, p["ts"], p["text"], p["blocks"])), nothing
        if d.kind == "topic":
            channel = self._channel(s, {"event": d.event_id})
            return (lambda: t.set_topic(channel, p["topic"])), nothing
        if d.kind == "mark_retracted":
            posts = [(post.channel_id, post.ts, *bk.mark_retracted(post.text, post.blocks))
                     for post in s.scalars(select(Post).where(Post.event_id == d.event_id))]

            def edit_all() -> None:
                for channel_id, ts, text, blocks in posts:
                    t.update(channel_id, ts, text, blocks)

            return edit_all, nothing
        raise NoChannel(f"unknown delivery kind {d.kind}")

    @staticmethod
    def _blocks(s, d: Delivery) -> list:
        """The post's blocks with the event channel's link filled in."""
        blocks = d.payload.get("blocks") or []
        if EVENT_LINK in json.dumps(blocks):
            event = s.get(Event, d.event_id)
            link = bk.channel_link(event.channel_id, event.channel_name) or "(no event channel)"
            blocks = json.loads(json.dumps(blocks).replace(EVENT_LINK, link))
        return blocks

    def _finish_post(self, s, d: Delivery, channel: str, ts: str, text: str | None = None,
                     blocks: list | None = None, root: bool = True) -> None:
        d.status, d.done_at = "done", self.clock()
        d.result = {"channel": channel, "ts": ts}
        p = d.payload
        if d.event_id and p.get("root") and root:
            event = s.get(Event, d.event_id)
            if event is not None and not event.thread_ts:
                event.thread_ts = ts
        if d.event_id and p.get("record"):
            s.add(Post(event_id=d.event_id, channel_id=channel, ts=ts,
                       blocks=blocks if blocks is not None else self._blocks(s, d), text=text or p["text"]))
