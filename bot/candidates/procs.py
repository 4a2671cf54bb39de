"""Running candidate workers: one thread per configured broker in a process, and ``gwbot candidates --workers N``
as N such processes in the brokers' consumer groups (Kafka shares the partitions among them). Workers only queue
Slack posts; the outbox of ``gwbot run`` (on any machine sharing the database) delivers them."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time

from bot.config import ConfigError, Settings
from bot.events.maps import MapCache
from bot.store import Store

from .worker import CandidateWorker

__all__ = ["run_processes", "start_threads", "workers_for"]

log = logging.getLogger(__name__)


def check_ready(settings: Settings) -> None:
    """Refuse to start, with the reason, when a broker cannot work (no Rubin schemas, missing secrets)."""
    if not settings.candidates.brokers:
        raise ConfigError("no [[brokers]] in GWBOT_CONFIG: nothing to read candidates from")
    for broker in settings.candidates.brokers:
        broker.kafka_config()  # says which secret is missing
        if broker.format.value == "rubin":
            try:
                import lsst.alert.packet  # noqa: F401
            except ImportError:
                raise ConfigError(f"broker {broker.name}: Rubin alerts need lsst-alert-packet, a gwbot "
                                  "dependency missing here: reinstall gwbot") from None


def workers_for(settings: Settings, store: Store, maps: MapCache | None = None) -> list[CandidateWorker]:
    from bot.slack.sender import slack_outbox
    from bot.slack.target import target_for

    outbox = slack_outbox(store, target_for(settings), ops_channel=settings.channels.ops)
    maps = maps or MapCache(store)

    def alarm(what: str, detail: str, key: str) -> None:
        outbox.alarm(settings.channels.ops, what, detail, key)

    return [CandidateWorker(settings, broker, store, alarm, maps) for broker in settings.candidates.brokers]


def start_threads(workers: list[CandidateWorker], stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for worker in workers:
        thread = threading.Thread(target=worker.run, args=(stop,), name=f"candidates-{worker.broker.name}",
                                  daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def _process_main(settings: Settings, index: int, stop) -> None:
    """One worker process: stops when the parent says so, or when the parent is gone (killed)."""
    import signal

    from bot import logs

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent coordinates the shutdown
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs.setup("INFO", secrets=settings.secret_values())
    parent = multiprocessing.parent_process()
    store = Store(settings.store.database_url)
    local_stop = threading.Event()
    threads = start_threads(workers_for(settings, store), local_stop)
    log.info("candidate worker %d started", index, extra={"brokers": [b.name for b in settings.candidates.brokers]})
    while not stop.is_set() and (parent is None or parent.is_alive()):
        time.sleep(0.5)
    local_stop.set()
    for thread in threads:
        thread.join(timeout=15)
    store.close()


def run_processes(settings: Settings, count: int, stop) -> list[multiprocessing.process.BaseProcess]:
    """Start ``count`` worker processes (spawned: no state shared with this one but the settings)."""
    check_ready(settings)
    context = multiprocessing.get_context("spawn")
    procs: list[multiprocessing.process.BaseProcess] = [
        context.Process(target=_process_main, args=(settings, i, stop), name=f"gwbot-candidates-{i}")
        for i in range(count)]
    for proc in procs:
        proc.start()
    return procs
