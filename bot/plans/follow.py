"""The scheduled job that follows plans: expiry, retried submissions, and state changes at the facility,
told in Slack through the outbox.

It runs in apscheduler with its job store in the bot's database, so the job (like the plans it follows)
survives a restart. apscheduler keeps a job as a reference to an importable function, so the running
:class:`Follower` is found through :data:`Follower.running` rather than passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ClassVar

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.plans.lifecycle import PlanBook, announce
from bot.store.plans import PlanRecord

log = logging.getLogger(__name__)

__all__ = ["Follower", "follow_job"]

JOB_ID = "follow-plans"
READ_JOB_ID = "read-others"
READ_CHECK_S = 60.0  # how often to look for events whose pointings (or HERMES reports) are due for a read


class Follower:
    running: ClassVar[dict[str, Follower]] = {}  # job id -> the follower that runs it in this process

    def __init__(self, plans: PlanBook, wake=lambda: None, readers: tuple[Callable[[], object], ...] = ()) -> None:
        self.plans = plans
        self.wake = wake  # the outbox's: send what was queued now
        self.readers = readers  # what others publish, read for active events (Treasure Map, HERMES)
        self._scheduler: BackgroundScheduler | None = None

    def run_once(self) -> None:
        """Tell every change in the plans' lives where people will see it."""
        told = self.plans.follow()
        if not told:
            return
        with self.plans.store.session() as s:
            for plan, text, echo in told:
                row = s.get_one(PlanRecord, plan.id)
                announce(s, row, f"Plan {plan.id} for {plan.event_id}: {text}.", echo)
                log.info("plan %s: %s", plan.id, text, extra={"event_id": plan.event_id})
        self.wake()

    def read_others(self) -> None:
        """Each reader in turn; one failing does not stop the others."""
        for read in self.readers:
            try:
                read()
            except Exception:
                log.exception("reading %s failed; trying again at the next run", getattr(read, "__qualname__", read))
        self.wake()

    def start(self, seconds: float) -> None:
        Follower.running[JOB_ID] = self
        scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=self.plans.store.engine)},
                                        timezone="UTC")
        scheduler.add_job(f"{__name__}:follow_job", "interval", seconds=seconds, id=JOB_ID, replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=int(max(seconds, 30)))
        if self.readers:
            scheduler.add_job(f"{__name__}:read_job", "interval", seconds=READ_CHECK_S, id=READ_JOB_ID,
                              replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=60)
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if Follower.running.get(JOB_ID) is self:
            del Follower.running[JOB_ID]


def read_job() -> None:
    """The scheduled reading of others' pointings and reports (by reference, as apscheduler stores it)."""
    follower = Follower.running.get(JOB_ID)
    if follower is not None:
        follower.read_others()


def follow_job() -> None:
    """The scheduled job (by reference, as apscheduler stores it)."""
    follower = Follower.running.get(JOB_ID)
    if follower is not None:
        follower.run_once()
