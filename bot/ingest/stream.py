"""Read the Hopskotch streams with hop-client, at least once, and never give up on the broker.

hop-client 0.13 traps handled here: ``read_raw`` (not ``read``) so a malformed
message cannot break the iterator; ``autocommit=False`` with ``mark_done``
after the message is fully handled (autocommit would store the offset before
we handle it); a fixed group id, ``<user name>-gwbot`` by default (hop's
default is random, which would replay or skip history on every restart, and
Hopskotch refuses groups that do not start with the credential's user name);
``batch_size=1`` so an alert is not held back waiting for a batch to fill.

Refused credentials or topics are reported once, in words, with what to do;
a database that cannot be written (disk full, locked, read-only) is a
transient fault: the message is retried after a pause and not committed.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.config import Settings, consumer_group
from bot.ingest.decode import RawMessage

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
POISON_ATTEMPTS = 3
DATABASE_ERRORS = (OperationalError, InterfaceError)

#: Kafka error names that no retry will fix, with what the person running the bot should do.
REFUSALS = {
    "_AUTHENTICATION": "Hopskotch refused the credential (wrong user name or password). Check HOP_USERNAME and "
                       "HOP_PASSWORD, or run `hop auth add` with the credential from https://my.hop.scimma.org.",
    "SASL_AUTHENTICATION_FAILED": "Hopskotch refused the credential (wrong user name or password). Check "
                                  "HOP_USERNAME and HOP_PASSWORD, or run `hop auth add`.",
    "TOPIC_AUTHORIZATION_FAILED": "the credential may not read a topic in HOP_URL. Subscribe the credential to the "
                                  "topic at https://my.hop.scimma.org (Credentials -> Manage -> add the topic).",
    "GROUP_AUTHORIZATION_FAILED": "Hopskotch refused the consumer group: it must start with '<user name>-'. Unset "
                                  "GWBOT_GROUP_ID to use '<user name>-gwbot'.",
    "CLUSTER_AUTHORIZATION_FAILED": "the credential is not allowed on this Kafka cluster.",
}


def _auth(settings: Settings):
    if not settings.hop.auth:
        return False
    if settings.hop.username and settings.hop.password:
        from hop.auth import Auth

        return Auth(settings.hop.username, settings.hop.password)
    return True  # hop's own auth.toml


def refusal(error) -> str | None:
    """What to do about a KafkaError (or adc KafkaException) that retrying will not fix; None otherwise."""
    error = getattr(error, "error", error)
    name = error.name() if hasattr(error, "name") else str(error)
    return REFUSALS.get(name)


def close_quietly(consumer) -> None:
    """Close a consumer that may be broken (closing it may fail too)."""
    if consumer is not None:
        try:
            consumer.close()
        except Exception:
            pass


def reconnecting(stop: threading.Event, session: Callable[[Callable[[], None]], None],
                 refused: Callable[[str, Exception], None], what: str, where: dict) -> None:
    """Run ``session(healthy)`` again and again until ``stop``, never giving up on the broker: after a failure wait
    1 s, doubling to MAX_BACKOFF; ``healthy()`` (messages flow again) resets the wait. A refusal no retry will fix
    goes to ``refused`` (to be said once) and is retried quietly and slowly, in case someone fixes it."""
    backoff = 1.0

    def healthy() -> None:
        nonlocal backoff
        backoff = 1.0

    while not stop.is_set():
        try:
            session(healthy)
        except Exception as exc:  # broker gone, auth refused, handler bug: log, back off, reconnect
            if stop.is_set():
                break
            reason = refusal(exc)
            if reason:
                refused(reason, exc)
                backoff = MAX_BACKOFF
            else:
                log.warning("%s interrupted (%s: %s); reconnecting in %.0f s", what, type(exc).__name__, exc,
                            backoff, extra=where)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


class Handler(Protocol):
    """What the reader hands each message to (the alert pipeline, in ``gwbot run``)."""

    def handle(self, raw: RawMessage) -> str: ...

    def report(self, raw: RawMessage, reason: str, key: str | None = None) -> None: ...

    def alarm(self, what: str, detail: str, key: str | None = None) -> None: ...


class StreamReader:
    """Consumes HOP_URL into a handler until stopped, committing each message after it is handled, reconnecting
    with backoff."""

    def __init__(self, settings: Settings, handler: Handler) -> None:
        self.settings = settings
        self.handler = handler
        self.group_id = consumer_group(settings.hop)  # a ConfigError here stops start-up, with the reason
        self.connected = False
        self.handled = 0
        self.problem: str | None = None  # why the stream cannot be read, in words (for /gw status and health)
        self.database_ok = True
        self._failures: Counter[tuple] = Counter()

    def _kafka_error(self, error) -> None:
        what = refusal(error)
        if what:
            self._refused(what, str(error))
        else:
            log.warning("kafka client: %s", error)

    def _refused(self, what: str, detail: str) -> None:
        """Said once per kind of refusal: log, /gw status, ops channel."""
        if self.problem == what:
            return
        self.problem = what
        self.handler.alarm("gwbot cannot read the alert stream", f"{what} (Kafka said: {detail})",
                            key=f"stream:{what}")

    def run(self, stop: threading.Event) -> None:
        reconnecting(stop, lambda healthy: self._session(stop, healthy),
                     lambda what, exc: self._refused(what, str(exc)), "stream",
                     {"url": self.settings.hop.url_redacted})

    def _session(self, stop: threading.Event, healthy: Callable[[], None]) -> None:
        """Connect and read until stopped; raises when the stream breaks."""
        from hop import Stream
        from hop.io import StartPosition

        consumer = None
        try:
            stream = Stream(auth=_auth(self.settings), start_at=StartPosition.EARLIEST, until_eos=False)
            consumer = stream.open(self.settings.hop.url, "r", group_id=self.group_id,
                                   error_callback=self._kafka_error)
            watcher = threading.Thread(target=lambda c=consumer: (stop.wait(), c.stop()), daemon=True)
            watcher.start()
            self.connected = True
            log.info("stream connected", extra={"url": self.settings.hop.url_redacted, "group_id": self.group_id})
            for value, meta in consumer.read_raw(metadata=True, autocommit=False, batch_size=1,
                                                 batch_timeout=timedelta(seconds=0.5)):
                self.problem = None
                self._handle(consumer, value, meta, stop)
                healthy()
                if stop.is_set():
                    break
        finally:
            self.connected = False
            close_quietly(consumer)

    def _handle(self, consumer, value: bytes, meta, stop: threading.Event) -> None:
        stamp = getattr(meta, "timestamp", None)
        raw = RawMessage(meta.topic, value, meta.headers, meta.partition, meta.offset,
                         stamp / 1000.0 if stamp and stamp > 0 else None)
        where = (meta.topic, meta.partition, meta.offset)
        try:
            self._handle_retrying_database(raw, stop)
        except Exception as exc:
            self._failures[where] += 1
            if self._failures[where] < POISON_ATTEMPTS:
                raise  # not committed: re-read after reconnecting
            log.exception("message keeps failing; reporting it and moving on",
                          extra={"topic": meta.topic, "partition": meta.partition, "offset": meta.offset})
            self.handler.report(raw, f"handling failed {POISON_ATTEMPTS} times: {type(exc).__name__}: {exc}",
                                  key=f"bad:{meta.topic}:{meta.partition}:{meta.offset}")
        consumer.mark_done(meta, asynchronous=False)
        self.handled += 1

    def _handle_retrying_database(self, raw: RawMessage, stop: threading.Event) -> None:
        """Handle; while the database cannot be written, wait and try again (the offset stays uncommitted)."""
        pause = 2.0
        while True:
            try:
                self.handler.handle(raw)
            except DATABASE_ERRORS as exc:
                if stop.is_set():
                    raise
                if self.database_ok:
                    self.database_ok = False
                    self.handler.alarm("gwbot cannot write its database",
                                        f"{type(exc.orig).__name__ if exc.orig else type(exc).__name__}: "
                                        f"{exc.orig or exc}. The message at {raw.topic} [{raw.partition}] @ "
                                        f"{raw.offset} is kept and retried; nothing is lost. Free disk space or "
                                        "fix the database (GWBOT_DATABASE_URL).", key="database")
                log.warning("database error while handling %s @ %s; retrying in %.0f s", raw.topic, raw.offset,
                            pause, extra={"topic": raw.topic, "offset": raw.offset})
                stop.wait(pause)
                pause = min(pause * 2, MAX_BACKOFF)
                continue
            if not self.database_ok:
                self.database_ok = True
                log.info("database writable again")
            return
