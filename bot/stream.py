"""Read the Hopskotch streams with hop-client, at least once, and never give up on the broker.

hop-client 0.13 traps handled here: ``read_raw`` (not ``read``) so a malformed
message cannot break the iterator; ``autocommit=False`` with ``mark_done``
after the message is fully handled (autocommit would store the offset before
we handle it); a fixed group id (hop's default is random, which would replay
or skip history on every restart); ``batch_size=1`` so an alert is not held
back waiting for a batch to fill.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta

from .config import Settings
from .pipeline import Pipeline, RawMessage

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
POISON_ATTEMPTS = 3


def _auth(settings: Settings):
    if not settings.hop_auth:
        return False
    if settings.hop_username and settings.hop_password:
        from hop.auth import Auth

        return Auth(settings.hop_username, settings.hop_password)
    return True  # hop's own auth.toml


def _kafka_error(error) -> None:
    log.warning("kafka client: %s", error)


class StreamReader:
    """Consumes HOP_URL into a pipeline until stopped, reconnecting with backoff."""

    def __init__(self, settings: Settings, pipeline: Pipeline) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.connected = False
        self.handled = 0
        self._failures: Counter[tuple] = Counter()

    def run(self, stop: threading.Event) -> None:
        from hop import Stream
        from hop.io import StartPosition

        backoff = 1.0
        while not stop.is_set():
            consumer = None
            try:
                stream = Stream(auth=_auth(self.settings), start_at=StartPosition.EARLIEST, until_eos=False)
                consumer = stream.open(self.settings.hop_url, "r", group_id=self.settings.group_id,
                                       error_callback=_kafka_error)
                watcher = threading.Thread(target=lambda c=consumer: (stop.wait(), c.stop()), daemon=True)
                watcher.start()
                self.connected = True
                log.info("stream connected", extra={"url": self.settings.hop_url, "group_id": self.settings.group_id})
                for value, meta in consumer.read_raw(metadata=True, autocommit=False, batch_size=1,
                                                     batch_timeout=timedelta(seconds=0.5)):
                    self._handle(consumer, value, meta)
                    backoff = 1.0
                    if stop.is_set():
                        break
            except Exception as exc:  # broker gone, auth refused, handler bug: log, back off, reconnect
                self.connected = False
                if stop.is_set():
                    break
                log.warning("stream interrupted (%s: %s); reconnecting in %.0f s", type(exc).__name__, exc, backoff,
                            extra={"url": self.settings.hop_url})
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                self.connected = False
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:  # closing a broken consumer may fail too
                        pass

    def _handle(self, consumer, value: bytes, meta) -> None:
        raw = RawMessage(meta.topic, value, meta.headers, meta.partition, meta.offset)
        where = (meta.topic, meta.partition, meta.offset)
        try:
            self.pipeline.handle(raw)
        except Exception as exc:
            self._failures[where] += 1
            if self._failures[where] < POISON_ATTEMPTS:
                raise  # not committed: re-read after reconnecting
            log.exception("message keeps failing; reporting it and moving on",
                          extra={"topic": meta.topic, "partition": meta.partition, "offset": meta.offset})
            self.pipeline.report(raw, f"handling failed {POISON_ATTEMPTS} times: {type(exc).__name__}: {exc}",
                                  key=f"bad:{meta.topic}:{meta.partition}:{meta.offset}")
        consumer.mark_done(meta, asynchronous=False)
        self.handled += 1
