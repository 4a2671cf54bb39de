"""Wiring: settings -> store, Slack target, outbox, pipeline and stream reader, and the threads that run them."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from pathlib import Path

from . import __version__
from .answers import Answers
from .approvals import PlanBook
from .config import ConfigError, Settings
from .delivery import Outbox
from .pipeline import Pipeline
from .slack import DryRun, SlackTarget, WebAPI
from .store import Store
from .stream import StreamReader

log = logging.getLogger(__name__)

HEARTBEAT = Path(tempfile.gettempdir()) / "gwbot-heartbeat.json"
HEARTBEAT_MAX_AGE = 120.0


def make_target(settings: Settings) -> SlackTarget:
    if settings.posts_to_slack:
        return WebAPI(settings.slack_bot_token, settings.slack_api_url)
    return DryRun(settings.output_dir)


class Bot:
    def __init__(self, settings: Settings, target: SlackTarget | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.database_url)
        self.outbox = Outbox(self.store, target or make_target(settings))
        self.pipeline = Pipeline(settings, self.store, self.outbox)
        self.reader = StreamReader(settings, self.pipeline)
        self.stop = threading.Event()
        self.started = time.time()
        self.answers = Answers(self.store, stream_status=self.stream_status, started=self.started)
        self.plans = PlanBook(self.store, settings, self.answers.maps)
        self._scheduler = None
        self._threads: list[threading.Thread] = []
        self._stop_commands = None

    def stream_status(self) -> dict:
        url = self.settings.hop_url.split("@")[-1]  # never show credentials embedded in the URL
        return {"connected": self.reader.connected, "url": url if "://" in url else f"kafka://{url}"}

    def start_commands(self) -> None:
        """The /gw command in Socket Mode or HTTP mode, when the bot talks to a real workspace."""
        from .slack_app import start

        self._stop_commands = start(self.settings, self.answers, self.plans)

    def start_background(self) -> None:
        """Delivery and heartbeat threads and the plan follower; the stream reader runs in the caller's thread."""
        from . import follow

        self._scheduler = follow.start(self, self.settings.follow_seconds)
        for name, target in (("delivery", self.outbox.run), ("heartbeat", self._heartbeat)):
            thread = threading.Thread(target=target, args=(self.stop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def run(self) -> None:
        log.info("gwbot %s starting", __version__, extra={"settings": self.settings.describe()})
        if self.settings.posts_to_slack:
            try:
                self.start_commands()
            except ConfigError as exc:  # the alert pipeline is the main job: run it anyway
                log.warning("/gw commands are off: %s", exc)
        self.start_background()
        self.reader.run(self.stop)

    def start_reader_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.reader.run, args=(self.stop,), name="stream", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def shutdown(self) -> None:
        self.stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if self._stop_commands is not None:
            self._stop_commands()
        self.outbox.wake()
        for thread in self._threads:
            thread.join(timeout=10)
        self.store.close()

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                HEARTBEAT.write_text(json.dumps({"time": time.time(), "connected": self.reader.connected,
                                                 "pending": self.outbox.pending(), "handled": self.reader.handled}))
            except OSError as exc:
                log.warning("cannot write heartbeat: %s", exc)
            stop.wait(15)


def healthy(path: Path = HEARTBEAT, max_age: float = HEARTBEAT_MAX_AGE) -> tuple[bool, str]:
    """For the container HEALTHCHECK: is a running bot writing its heartbeat?"""
    try:
        beat = json.loads(path.read_text())
    except (OSError, ValueError):
        return False, "no heartbeat yet"
    age = time.time() - beat["time"]
    if age > max_age:
        return False, f"heartbeat is {age:.0f} s old"
    return True, f"ok: connected={beat['connected']} pending={beat['pending']} handled={beat['handled']}"
