"""The scheduled job that follows plans: expiry, retried submissions, and LCO state changes, told in Slack.

It runs in apscheduler with its job store in the bot's database, so the job
(like the plans it follows) survives a restart. apscheduler stores the job
by reference, so the running bot registers itself here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.events.store import Event
from bot.plans.lifecycle import as_dict
from bot.slack import blocks as bk
from bot.slack.outbox import enqueue

if TYPE_CHECKING:
    from bot.app import Bot

log = logging.getLogger(__name__)
JOB_ID = "follow-plans"
_bot: Bot | None = None


def follow_job() -> None:
    """Tell every change in the plans' lives where people will see it."""
    bot = _bot
    if bot is None:
        return
    told = bot.plans.follow()
    if not told:
        return
    with bot.store.session() as s:
        for plan, text in told:
            if not plan.channel_id:
                continue
            lane = f"channel:{plan.channel_id}"
            message, blocks = bk.plan_message(as_dict(plan))
            if plan.message_ts:
                enqueue(s, lane, "update", {"channel": {"name": plan.channel_id}, "ts": plan.message_ts,
                                            "text": message, "blocks": blocks}, event_id=plan.event_id)
            line = f"Plan {plan.id} for {plan.event_id}: {text}."
            enqueue(s, lane, "post", {"channel": {"name": plan.channel_id}, "thread_ts": plan.message_ts,
                                      "text": line}, event_id=plan.event_id)
            event = s.get(Event, plan.event_id)
            if event is not None and event.channel_id and event.channel_id != plan.channel_id:
                enqueue(s, f"event:{plan.event_id}", "post", {"channel": {"event": plan.event_id}, "text": line},
                        event_id=plan.event_id)
            log.info("plan %s: %s", plan.id, text, extra={"event_id": plan.event_id})
    bot.outbox.wake()


def start(bot: Bot, seconds: float) -> BackgroundScheduler:
    global _bot
    _bot = bot
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=bot.store.engine)},
                                    timezone="UTC")
    scheduler.add_job("bot.plans.follow:follow_job", "interval", seconds=seconds, id=JOB_ID, replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=int(max(seconds, 30)))
    scheduler.start()
    return scheduler
