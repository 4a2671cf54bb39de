"""The outbox: deliveries kept in the store until their service has them, generic over senders.

Callers enqueue deliveries in the same transaction as the change they announce (an alert recorded as handled, a
plan approved), so nothing is lost across a crash or an outage. One worker thread sends them: in id order within a
lane (a Slack channel, a plan's message, Treasure Map, HERMES), lanes independent of each other, honouring the
service's "retry after" and backing off on server errors and timeouts. Each kind of delivery has a sender
(:data:`Sender`) that prepares the call in the store's transaction and records its result in another; a delivery
whose outcome is unknown (in flight when the process died, or a timeout after it was sent) is marked so, and its
sender looks it up before sending again: nothing is sent twice and a lane keeps its order.

Nothing stops the loop or blocks a lane for good: an unexpected error is logged with its delivery and retried; a
delivery that keeps failing that way, or that its service rejects, is marked failed, reported to the ops channel,
and its lane moves on. Trouble the people running the bot must fix (a refused token) keeps deliveries pending
and tells the ops channel.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select, update

from bot.delivery.actions import Action, Alarm, Channel, from_json, lane, supersede_key, to_json
from bot.delivery.errors import Rejected, RetryLater
from bot.store import Store, rows_changed
from bot.store.delivery import Delivery, OutboxSender

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
HEARTBEAT_S = 5.0  # how often a running outbox says it is alive
SENDER_TIMEOUT_S = 30.0  # an outbox silent this long is dead: its deliveries in flight are taken over
MAX_UNEXPECTED = 6  # unclassified failures of one delivery before it is given up (and reported)
ALARM_REPEAT_S = 3600.0
OPEN = ("pending", "in_flight")
EDIT_EVERY_S = 60.0  # a plan's message is edited at most this often by default (chat.update is Tier 3: ~50 a minute)
PACED = "plan:"  # lanes of a plan message's edits: paced
SLOW_LANES = ("followup", "facility", "evidence")  # deliveries that take seconds (a verdict's visibility, a portal's
# answer, a candidate's picture)


#: how a kind of delivery is made: (session, delivery, action) -> (call, finish). The sender prepares the call inside
#: the outbox's transaction (and may raise :class:`Rejected` or :class:`RetryLater`); ``call()`` runs outside any
#: transaction; ``finish(session, delivery, result)`` records the result in the transaction that marks it done.
Sender = Callable[[Any, Delivery, Any], tuple[Callable[[], Any], Callable[[Any, Delivery, Any], None]]]

__all__ = ["EDIT_EVERY_S", "Outbox", "Sender", "enqueue"]


def enqueue(session, action: Action, *, event_id: str | None = None, file: bytes | None = None,
            depends_on: int | None = None) -> Delivery:
    """Add a delivery inside the caller's transaction; its lane (channel) comes from the action. An edit that a
    newer one supersedes is dropped while still queued (the newer one shows the state then)."""
    kind, payload = to_json(action)
    key = supersede_key(action)
    if key is not None:
        session.execute(update(Delivery).where(Delivery.supersede_key == key, Delivery.status == "pending")
                        .values(status="dropped", done_at=time.time()))
    delivery = Delivery(lane=lane(action), kind=kind, payload=payload, event_id=event_id, file=file,
                        depends_on=depends_on, supersede_key=key)
    session.add(delivery)
    session.flush()
    return delivery


class Outbox:
    def __init__(self, store: Store, senders: dict[str, Sender], clock: Callable[[], float] = time.time,
                 ops_channel: str | None = None, say_now: Callable[[Alarm], None] | None = None,
                 edit_every_s: float = EDIT_EVERY_S) -> None:
        self.store = store
        self.senders = senders  # delivery kind -> its sender (Slack's kinds, Treasure Map's, HERMES's)
        self.clock = clock
        self.ops_channel = ops_channel
        self.say_now = say_now  # an alarm straight to its service, when the store itself cannot take it
        self.edit_every_s = edit_every_s  # a plan's message: at most one edit this often
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-slow")
        self._busy: set[str] = set()  # slow lanes whose head is on the worker now
        self._lock = threading.Lock()
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
        """Tell the ops channel, at most once an hour per ``key``. Queued like any delivery; when the store itself
        cannot take it (disk full), sent straight to its service, best effort."""
        key = key or what
        now = self.clock()
        if now - self._alarmed.get(key, -ALARM_REPEAT_S) < ALARM_REPEAT_S or not channel:
            return
        self._alarmed[key] = now
        alarm = Alarm(Channel(name=channel), what, detail)
        try:
            with self.store.session() as s:
                enqueue(s, alarm)
            self.wake()
        except Exception:  # the database is the trouble: go around it
            log.exception("cannot queue an ops message; sending it directly")
            try:
                if self.say_now is not None:
                    self.say_now(alarm)
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
            ids = [(d.id, d.lane) for d in heads.values()]  # (delivery, its lane)
        if not ids:
            return 1.0
        next_ready = float("inf")
        for delivery_id, lane_name in ids:
            if lane_name in SLOW_LANES:  # seconds of work: on the worker, so the channels' lanes never wait for it
                with self._lock:
                    if lane_name in self._busy:
                        continue
                    self._busy.add(lane_name)
                self._worker.submit(self._attempt_slow, delivery_id, now, lane_name)
                continue
            try:
                wait = self._attempt(delivery_id, now)
            except Exception:  # e.g. the database failing while recording: the other lanes go on
                log.exception("delivery %s could not be attempted; retrying in 5 s", delivery_id)
                wait = 5.0
            next_ready = min(next_ready, wait)
        return max(0.0, next_ready)

    def _attempt_slow(self, delivery_id: int, now: float, lane: str) -> None:
        try:
            self._attempt(delivery_id, now)
        except Exception:
            log.exception("delivery %s could not be attempted; retrying at the next step", delivery_id)
        finally:
            with self._lock:
                self._busy.discard(lane)
            self.wake()

    # --- one delivery -------------------------------------------------------------------------

    def _attempt(self, delivery_id: int, now: float) -> float:
        """Resolve in one transaction, call Slack outside any, record the result in another."""
        with self.store.session() as s:
            d = s.get_one(Delivery, delivery_id)
            if d.not_before > now:
                return d.not_before - now
            if d.lane.startswith(PACED) and self.edit_every_s > 0:
                last = s.scalar(select(func.max(Delivery.done_at)).where(Delivery.lane == d.lane,
                                                                          Delivery.status == "done"))
                if last is not None and last + self.edit_every_s > now:
                    d.not_before = last + self.edit_every_s  # the next slot; the lane is the plan's alone
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
                call, finish = self._prepare(s, d)
            except Rejected as exc:
                d.status, d.last_error = "failed", str(exc)[:500]
                failed: BaseException | None = exc
            except Exception as exc:  # RetryLater, or a bug while preparing it: retried, within bounds
                d.status, failed = "pending", exc
            else:
                failed = None
        if isinstance(failed, Rejected):
            self._failed(delivery_id, kind, lane, event_id, failed)
            return 0.0
        try:
            if call is None:
                raise failed or RetryLater("the delivery could not be prepared")
            result = call()
        except Rejected as exc:
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
        if retry.tell_ops is not None:
            what, detail = retry.tell_ops
            self.alarm(self.ops_channel, what, detail, key=what)
        return delay

    def _failed(self, delivery_id: int, kind: str, lane: str, event_id: str | None, exc: BaseException) -> None:
        log.error("delivery %s (%s, lane %s) failed for good: %s", delivery_id, kind, lane, exc,
                  extra={"event_id": event_id})
        if self.ops_channel and lane != f"channel:{self.ops_channel}":
            self.alarm(self.ops_channel, f"A {kind} could not be delivered",
                       f"delivery {delivery_id} ({lane}{', ' + event_id if event_id else ''}): {exc}. "
                       "Later messages go on.", key=f"failed:{delivery_id}")

    def _prepare(self, s, d: Delivery) -> tuple[Callable[[], Any], Callable[[Any, Delivery, Any], None]]:
        """The delivery's sender prepares its call."""
        sender = self.senders.get(d.kind)
        if sender is None:
            raise Rejected(f"no sender for deliveries of kind {d.kind}")
        return sender(s, d, from_json(d.kind, d.payload))
