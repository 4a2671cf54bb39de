"""The candidate workflow, top to bottom: consume a batch from a broker's topics, peek at each alert, match the
batch against every active event's map, read the whole alert only for the hits, judge them, store them, commit the
offsets, queue the due digests.

At least once, nothing doubled: offsets are committed only after the batch's candidates are stored, and storing
is idempotent (a detection's key is its alert), so a crash mid-batch re-reads the batch and changes nothing twice.
Workers in one consumer group share the topics' partitions; they share the store, and learn about new map
versions and retractions from it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.brokers import decoders
from bot.brokers.decoders import Message
from bot.brokers.record import Candidate, DecodeError
from bot.config import BrokerConfig, Settings
from bot.events.maps import MapCache
from bot.ingest.stream import MAX_BACKOFF, close_quietly, reconnecting
from bot.store import Store
from bot.store.events import TopicProgress

from . import book, digest
from .active import ActiveEvents
from .evidence import keep_alerts
from .match import Cuts, Judgement, Target, judge, match

__all__ = ["Batch", "CandidateWorker"]

log = logging.getLogger(__name__)

BATCH = 1000
POLL_S = 0.5
STATS_S = 10.0
DATABASE_ERRORS = (OperationalError, InterfaceError)
Alarm = Callable[[str, str, str], None]  # what, detail, key (said at most once an hour per key)


@dataclass
class Batch:
    """What one batch came to (for logs, tests and the benchmark)."""

    messages: int = 0
    undecodable: int = 0
    positionless: int = 0
    hits: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    new_objects: int = 0
    new_detections: int = 0


def _cuts(settings: Settings) -> Cuts:
    return Cuts(settings.candidates.max_cl, settings.candidates.min_reliability, settings.candidates.window_days)


class CandidateWorker:
    def __init__(self, settings: Settings, broker: BrokerConfig, store: Store, alarm: Alarm,
                 maps: MapCache | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.broker = broker
        self.store = store
        self.alarm = alarm
        self.clock = clock
        self.cuts = _cuts(settings)
        self.evidence = settings.candidates.evidence > 0  # read the hits' light curves and stamps
        self.active = ActiveEvents(store, maps or MapCache(store), settings.candidates.window_days, clock)
        self.undecodable: Counter[str] = Counter()  # per topic, since start
        self._judged: dict[str, int] = {}  # event -> map version its candidates were judged on here

    # --- one batch ------------------------------------------------------------------------------

    def targets(self) -> list[Target]:
        """The active events; a new map version re-judges that event's candidates first."""
        targets = self.active.targets()
        for target in targets:
            if self._judged.get(target.event_id) != target.map_version:
                digest.reevaluate(self.store, target, self.cuts)
                self._judged[target.event_id] = target.map_version
        return targets

    def process(self, messages: list[Message]) -> Batch:
        """Decode, match, judge and store one batch (the caller commits the offsets after this returns)."""
        batch = Batch(messages=len(messages))
        targets = self.targets()
        peeked: list[tuple[Message, Candidate]] = []
        for message in messages:
            try:
                peeked += [(message, c) for c in decoders.peek_all(self.broker.format, self.broker.name, message)]
            except DecodeError as exc:
                batch.undecodable += 1
                self._undecodable(message, exc)
        batch.positionless = sum(not c.has_position for _, c in peeked)
        hits = match(targets, [c for _, c in peeked], self.cuts)
        detailed: dict[int, Candidate | None] = {}  # by batch index: read once, however many events it hits
        by_event: dict[str, list[int]] = {}
        for hit in hits:
            if hit.index not in detailed:
                detailed[hit.index] = self._read(peeked[hit.index], batch, evidence=False)
            if detailed[hit.index] is not None:
                by_event.setdefault(hit.event_id, []).append(hit.index)
        read = {i: c for i, c in detailed.items() if c is not None}
        evidenced: dict[int, Candidate | None] = {}  # light curves and stamps: only for the candidates kept
        found: list[tuple[Target, list[tuple[Candidate, Judgement]]]] = []
        for target in targets:
            indexes = by_event.get(target.event_id)
            if not indexes:
                continue
            kept = []
            for i, judgement in zip(indexes, judge([read[i] for i in indexes], target, self.cuts), strict=True):
                if judgement.rejected:
                    batch.rejected[judgement.rejected.split(" (")[0]] += 1
                    continue
                if self.evidence and i not in evidenced:
                    evidenced[i] = self._read((peeked[i][0], read[i]), batch, evidence=True)
                kept.append((evidenced.get(i) or read[i], judgement))
            if kept:
                found.append((target, kept))
        batch.hits = sum(len(kept) for _, kept in found)
        if found:
            with self.store.session() as s:
                keep_alerts(s, [c for _, kept in found for c, _ in kept])  # each alert once, whatever its events
                for target, kept in found:
                    for done in book.record(s, target.event_id, target.map_version, kept, target.merger_mjd):
                        batch.new_objects += done.new_object
                        batch.new_detections += done.new_detection
        if found or batch.undecodable:
            log.info("candidate batch", extra={"broker": self.broker.name, "messages": batch.messages,
                                               "hits": batch.hits, "new_objects": batch.new_objects,
                                               "undecodable": batch.undecodable,
                                               "without_position": batch.positionless})
        return batch

    def _read(self, peeked: tuple[Message, Candidate], batch: Batch, evidence: bool) -> Candidate | None:
        """The whole alert (or, with ``evidence``, also its light curve and stamps); None when it cannot be read."""
        message, candidate = peeked
        try:
            if evidence:
                return decoders.evidence(self.broker.format, message, candidate)
            return decoders.detail(self.broker.format, self.broker.name, message, candidate)
        except DecodeError as exc:
            batch.undecodable += 1
            self._undecodable(message, exc)
            return None

    def _undecodable(self, message: Message, exc: Exception) -> None:
        """Counted; said to the ops channel at most once per topic and hour; the message is committed."""
        self.undecodable[message.topic] += 1
        log.warning("undecodable broker message skipped: %s", exc,
                    extra={"broker": self.broker.name, "topic": message.topic, "partition": message.partition,
                           "offset": message.offset})
        self.alarm(f"Undecodable messages from broker {self.broker.name}",
                   f"{self.undecodable[message.topic]} message(s) on {message.topic} could not be read as "
                   f"{self.broker.format.value} since start; the latest, at partition {message.partition} offset "
                   f"{message.offset}: {exc}. They are skipped; the stream goes on.",
                   f"broker-undecodable:{self.broker.name}:{message.topic}")

    def housekeeping(self) -> None:
        """Digests that are due, and the end of retracted events' streams."""
        digest.end_retracted(self.store)
        digest.send_due(self.store, self.clock(), self.cuts, self.settings.candidates.digest_s,
                        self.settings.candidates.evidence)

    # --- the Kafka loop -------------------------------------------------------------------------

    def run(self, stop: threading.Event, on_batch: Callable[[Batch], None] | None = None) -> None:
        """Consume until ``stop`` is set, reconnecting with backoff; never gives up on the broker."""
        def refused(what: str, exc: Exception) -> None:
            self.alarm(f"gwbot cannot read broker {self.broker.name}", f"{what} (Kafka said: {exc})",
                       f"broker-refused:{self.broker.name}")

        reconnecting(stop, lambda healthy: self._session(stop, healthy, on_batch), refused, "broker stream",
                     {"broker": self.broker.name})

    def _session(self, stop: threading.Event, healthy: Callable[[], None],
                 on_batch: Callable[[Batch], None] | None) -> None:
        """Subscribe and consume batches until stopped; raises when the stream breaks."""
        consumer = None
        try:
            consumer = self._consumer()
            stats = _Stats()
            while not stop.is_set():
                raw = consumer.consume(num_messages=BATCH, timeout=POLL_S)
                messages = self._messages(raw)
                if messages:
                    batch = self._process_retrying_database(messages, stop)
                    consumer.commit(asynchronous=False)
                    stats.add(messages)
                    if on_batch is not None:
                        on_batch(batch)
                self.housekeeping()
                if stats.due(self.clock()):
                    self._progress(consumer, stats)
                healthy()
        finally:
            close_quietly(consumer)

    def _consumer(self):
        from confluent_kafka import Consumer

        consumer = Consumer(self.broker.kafka_config(), logger=log)
        consumer.subscribe(list(self.broker.topics))
        log.info("broker stream subscribed", extra={"broker": self.broker.name, "topics": self.broker.topics,
                                                    "group_id": self.broker.group})
        return consumer

    def _messages(self, raw: list) -> list[Message]:
        from confluent_kafka import KafkaError, KafkaException

        out = []
        for m in raw:
            error = m.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.fatal() or error.name() in ("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED",
                                                     "SASL_AUTHENTICATION_FAILED", "_AUTHENTICATION"):
                    raise KafkaException(error)
                log.warning("broker stream: %s", error, extra={"broker": self.broker.name})
                continue
            stamp = m.timestamp()[1]
            out.append(Message(m.topic(), m.value() or b"", m.key(), m.partition(), m.offset(),
                               stamp / 1000.0 if stamp and stamp > 0 else None))
        return out

    def _process_retrying_database(self, messages: list[Message], stop: threading.Event) -> Batch:
        """While the database cannot be written, wait and retry the batch (its offsets stay uncommitted)."""
        pause = 2.0
        while True:
            try:
                return self.process(messages)
            except DATABASE_ERRORS as exc:
                if stop.is_set():
                    raise
                self.alarm("gwbot cannot write its database", f"broker {self.broker.name}: {exc}. The batch is "
                           "kept and retried; nothing is lost.", "database")
                stop.wait(pause)
                pause = min(pause * 2, MAX_BACKOFF)

    def _progress(self, consumer, stats: _Stats) -> None:
        """Per broker topic and partition: consumer lag, messages per second, last message time (for /gw status)."""
        from confluent_kafka import TopicPartition

        now = self.clock()
        try:
            positions = consumer.position(consumer.assignment())
        except Exception:  # not assigned yet, or mid-rebalance: next time
            return
        with self.store.session() as s:
            for tp in positions:
                if tp.offset < 0:
                    continue
                _low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), cached=True)
                key = f"{self.broker.name}:{tp.topic}#{tp.partition}"
                last = stats.last.get((tp.topic, tp.partition))
                row = s.get(TopicProgress, key)
                if row is None:
                    row = TopicProgress(topic=key, last_received=last or 0.0)
                    s.add(row)
                row.last_received = last or row.last_received
                row.last_offset, row.lag = tp.offset, max(0, high - tp.offset) if high >= 0 else None
                row.rate = stats.counts.get((tp.topic, tp.partition), 0) / max(now - stats.since, 1e-3)
        stats.reset(now)


class _Stats:
    def __init__(self) -> None:
        self.reset(time.time())

    def reset(self, now: float) -> None:
        self.since = now
        self.counts: Counter[tuple[str, int]] = Counter()
        self.last: dict[tuple[str, int], float] = {}

    def add(self, messages: list[Message]) -> None:
        now = time.time()
        for m in messages:
            self.counts[(m.topic, m.partition)] += 1
            self.last[(m.topic, m.partition)] = now

    def due(self, now: float) -> bool:
        return now - self.since >= STATS_S
