"""Wiring: settings -> store, Slack target, outbox, pipeline and stream reader, and the threads that run them."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot import __version__
from bot.candidates import evidence
from bot.candidates.procs import start_threads, workers_for
from bot.commands.answers import Answers
from bot.config import ConfigError, Settings
from bot.coordination import hermes_report, sharing
from bot.coordination.coverage import CoverageBook
from bot.coordination.hermes_feed import HermesFeed
from bot.coordination.hermes_report import Reports
from bot.events.maps import MapCache
from bot.events.pipeline import Pipeline
from bot.ingest.stream import StreamReader
from bot.plans import at_facility
from bot.plans.follow import Follower
from bot.plans.followup import Followup
from bot.plans.lifecycle import PlanBook
from bot.reporting.drafts import Circulars
from bot.slack.sender import slack_outbox
from bot.slack.target import SlackTarget, group_members_for, target_for
from bot.store import Store

log = logging.getLogger(__name__)

HEARTBEAT = Path(tempfile.gettempdir()) / "gwbot-heartbeat.json"
HEARTBEAT_MAX_AGE = 120.0
HOUSEKEEPING_S = 3600.0


class Bot:
    def __init__(self, settings: Settings, target: SlackTarget | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.store.database_url)
        self.maps = MapCache(self.store)
        self.coverage = CoverageBook(self.store, settings, self.maps)
        self.plans = PlanBook(self.store, settings, self.maps, group_members=group_members_for(settings),
                              coverage=self.coverage)
        self.followup = Followup(settings, self.maps, self.plans)
        self.reports = Reports(self.store, settings, self.plans.is_approver, self.plans.observed)
        self.circulars = Circulars(self.store, settings, self.maps, self.coverage, self.plans.observed,
                                   self.plans.is_approver)
        self.hermes_feed = HermesFeed(self.store, settings, self.maps)
        self.target = target or target_for(settings)
        self.outbox = slack_outbox(self.store, self.target, ops_channel=settings.channels.ops,
                                   edit_every_s=settings.slack.edit_every_s,
                                   services={"ShareWithTreasureMap": sharing.handler(settings),
                                             "PublishHermes": hermes_report.handler(settings, self.reports),
                                             "CancelPlan": at_facility.cancel_sender(self.plans),
                                             "SubmitPlan": at_facility.submit_sender(self.plans),
                                             "Assess": self.followup.sender(),
                                             "ShowEvidence": evidence.sender(),
                                             "SendCircular": self.circulars.sender()})
        self.pipeline = Pipeline(settings, self.store, self.outbox, hooks=self.followup)
        self.reader = StreamReader(settings, self.pipeline)  # the pipeline is the reader's handler
        self.stop = threading.Event()
        self.started = time.time()
        meter = getattr(self.target, "meter", None)
        self.answers = Answers(self.store, self.maps, stream_status=self.stream_status, started=self.started,
                               coverage=self.coverage, slack_calls=meter.rates if meter else list,
                               plans=settings.plans)
        self.follower = Follower(self.plans, self.outbox.wake,
                                 readers=(self.coverage.refresh_due, self.hermes_feed.read_due))
        self.candidates = workers_for(settings, self.store, self.maps) if settings.candidates.brokers else []
        self._threads: list[threading.Thread] = []
        self._stop_commands: Callable[[], None] | None = None

    def stream_status(self) -> dict:
        return {"connected": self.reader.connected, "url": self.settings.hop.url_redacted,
                "group_id": self.reader.group_id, "problem": self.reader.problem,
                "database_ok": self.reader.database_ok, "outbox_stalled_s": self._stalled()}

    def _stalled(self) -> float | None:
        """Seconds the oldest pending delivery has waited, when that is longer than GWBOT_STALL_SECONDS."""
        age = self.outbox.oldest_pending_age()
        return age if age > self.settings.store.stall_seconds else None

    def start_commands(self) -> None:
        """The /gw command in Socket Mode or HTTP mode, when the bot talks to a real workspace."""
        from bot.slack.listeners import start

        self._stop_commands = start(self.settings, self.answers, self.outbox, self.plans, self.reports,
                                    self.circulars)

    def start_background(self) -> None:
        """Delivery and heartbeat threads and the plan follower; the stream reader runs in the caller's thread."""
        self.follower.start(self.settings.plans.follow_seconds)
        for name, target in (("delivery", self.outbox.run), ("heartbeat", self._heartbeat)):
            thread = threading.Thread(target=target, args=(self.stop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._threads += start_threads(self.candidates, self.stop)

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
        self.follower.stop()
        if self._stop_commands is not None:
            self._stop_commands()
        self.outbox.wake()
        for thread in self._threads:
            thread.join(timeout=10)
        self.store.close()

    def beat(self) -> dict:
        """What the heartbeat says: the stream, the database, and whether the outbox is moving."""
        beat = {"time": time.time(), "connected": self.reader.connected, "handled": self.reader.handled,
                "problem": self.reader.problem, "database_ok": self.reader.database_ok}
        try:
            beat.update(pending=self.outbox.pending(), stalled_s=self._stalled())
        except Exception as exc:  # the database itself is the trouble
            beat.update(database_ok=False, pending=None, stalled_s=None, problem=f"database: {exc}"[:300])
        return beat

    def _heartbeat(self, stop: threading.Event) -> None:
        last_prune = 0.0
        while not stop.is_set():
            try:
                HEARTBEAT.write_text(json.dumps(self.beat()))
            except OSError as exc:
                log.warning("cannot write heartbeat: %s", exc)
            if time.time() - last_prune > HOUSEKEEPING_S:
                last_prune = time.time()
                self.housekeeping()
            stop.wait(15)

    def housekeeping(self) -> None:
        """Keep storage bounded: map versions and finished deliveries older than GWBOT_RETENTION_DAYS go."""
        try:
            maps, deliveries = self.store.prune(time.time() - 86400 * self.settings.store.retention_days)
        except Exception:
            log.exception("pruning old rows failed; will try again")
            return
        if maps or deliveries:
            log.info("pruned %d old sky-map versions and %d finished deliveries", maps, deliveries)


def healthy(path: Path = HEARTBEAT, max_age: float = HEARTBEAT_MAX_AGE) -> tuple[bool, str]:
    """For the container HEALTHCHECK: is a running bot writing its heartbeat, with its database writable, the
    stream not refused, and the outbox moving?"""
    try:
        beat = json.loads(path.read_text())
    except (OSError, ValueError):
        return False, "no heartbeat yet"
    age = time.time() - beat["time"]
    if age > max_age:
        return False, f"heartbeat is {age:.0f} s old"
    if not beat.get("database_ok", True):
        return False, f"unhealthy: the database cannot be written ({beat.get('problem') or 'see the log'})"
    if beat.get("stalled_s"):
        return False, f"unhealthy: the oldest Slack delivery has waited {beat['stalled_s']:.0f} s"
    if beat.get("problem"):
        return False, f"unhealthy: {beat['problem']}"
    return True, f"ok: connected={beat['connected']} pending={beat['pending']} handled={beat['handled']}"
