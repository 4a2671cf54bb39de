"""The follow-up workflow, top to bottom, for teams that set ``[[auto_plans]]`` rules in GWBOT_CONFIG.

1. A real alert with a new sky map passes the alerts channel's rules: in its own transaction, each rule's criteria
   are checked (class, FAR, group, significance, area, distance: cheap) and an :class:`Assess` is queued.
2. The outbox's ``followup`` lane takes it (after the summary: text first stays): what each rule's facility can
   observe of the map in the next 24 h (:mod:`bot.plans.visibility`), the verdicts (:mod:`bot.plans.verdict`),
   and for GO the plan, built as ``/gw plan`` builds it.
3. In one transaction: the verdicts are kept on the event and said (in its summaries, edited in their lanes after
   they are posted; the event channel's topic keeps the short form); each GO plan is proposed in the event's
   channel with its Approve/Reject, says it was made by the rule, and mentions the approvers; a rule with
   ``auto_submit`` approves it itself and has it submitted at once (its message says the rule decided, and offers
   Cancel). An alert that no longer passes a rule it passed says so.

A newer map supersedes open plans (:meth:`PlanBook.map_changed`) before its own verdicts propose new ones; a plan
already approved is not planned over: the new one leaves out the fields it will observe (ours count like others').
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.commands.records import Picture
from bot.config import FollowupRule, Settings
from bot.delivery.actions import Assess, Channel, Post, ShowVerdicts, SubmitPlan, Thread, Topic, Upload
from bot.delivery.errors import RetryLater
from bot.delivery.outbox import Sender, enqueue
from bot.events.facts import EventFacts
from bot.events.maps import MapCache
from bot.events.routing import Check
from bot.ingest.gwalert import GWAlert
from bot.plans import facilities as fac
from bot.plans.errors import PlanError
from bot.plans.lifecycle import Made, PlanBook
from bot.plans.request import PlanRequest
from bot.plans.verdict import Decision, Verdict, event_checks, judge, verdict_to_json
from bot.plans.visibility import observability, shared_picture
from bot.slack import blocks as bk
from bot.store.delivery import Delivery
from bot.store.events import Event

log = logging.getLogger(__name__)

__all__ = ["Followup", "request_for"]

HOURS = 24.0


def request_for(rule: FollowupRule) -> PlanRequest:
    """The plan a rule asks for, as ``/gw plan`` would take it."""
    return PlanRequest(rule.facility, rule.instrument, rule.filters or None, rule.exposure_s, rule.fields, rule.hours,
                       revisit=rule.revisit)


class Followup:
    """The event hooks of the pipeline for plans (a newer map, a retraction) and the follow-up rules."""

    def __init__(self, settings: Settings, maps: MapCache, plans: PlanBook,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.maps = maps
        self.plans = plans
        self.clock = clock

    # --- 1. in the alert's transaction ------------------------------------------------------------

    def map_changed(self, session, event_id: str, reason: str) -> None:
        self.plans.map_changed(session, event_id, reason)

    def retracted(self, session, event_id: str) -> None:
        self.plans.retracted(session, event_id)

    def new_map(self, session, alert: GWAlert, facts: EventFacts, version: int) -> None:
        rules = self.settings.plans.followup
        if not rules or alert.is_mock:
            return
        found = {rule.name: [[c.criterion, c.passed, c.words] for c in event_checks(rule, alert, facts)]
                 for rule in rules}
        enqueue(session, Assess(alert.superevent_id, version, found, facts.to_json()), event_id=alert.superevent_id)

    # --- 2 and 3. the outbox's followup lane ------------------------------------------------------

    def sender(self) -> Sender:
        def make(session, delivery: Delivery, action: Any):
            event = session.get(Event, action.event_id)
            if event is None or event.retracted:
                return (lambda: None), lambda *_: None
            if event.wants_channel and not event.channel_id:
                raise RetryLater(f"{action.event_id}'s channel is not open yet", after=2.0)
            where = Channel(event=event.event_id) if event.channel_id else \
                Channel(name=event.summary_channel or self.settings.channels.alerts or "gw-alerts")
            thread = None if event.channel_id else Thread(event=True)
            previous = {v["rule"]: v["decision"] for v in event.verdicts or []}
            event_id = event.event_id

            def call() -> tuple[list[Verdict], list[tuple[FollowupRule, Made | str]], list[Picture]]:
                return self._assess(action)

            def finish(s2, _d, out) -> None:
                if out is None:
                    return
                self._tell(s2, event_id, where, thread, previous, *out)

            return call, finish

        return make

    def _assess(self, action: Assess
                ) -> tuple[list[Verdict], list[tuple[FollowupRule, Made | str]], list[Picture]]:
        latest = self.maps.latest(action.event_id)
        if latest is None:
            raise RetryLater(f"{action.event_id} has no map to judge")
        _, prepared = latest
        facts = EventFacts.from_json(action.facts)
        now = datetime.fromtimestamp(self.clock(), UTC)
        verdicts: list[Verdict] = []
        made: list[tuple[FollowupRule, Made | str]] = []
        pictures: list[Picture] = []
        for rule in self.settings.plans.followup:
            facility = fac.facility_for(self.settings.plans, rule.facility)
            inst = facility.instrument(rule.instrument)
            seen = observability(prepared, facility, inst, now, HOURS)
            verdict = judge(rule, [Check(*c) for c in action.checks.get(rule.name, [])], facts, seen, HOURS)
            verdicts.append(verdict)
            pictures.append(Picture(*shared_picture(seen, action.event_id, facility, inst, HOURS,
                                                    bk.verdict_line(verdict))))
            if verdict.decision is not Decision.GO:
                continue
            try:
                made.append((rule, self.plans.make(action.event_id, request_for(rule))))
            except PlanError as exc:
                made.append((rule, f"no plan: {exc}"))
        log.info("follow-up verdicts for %s: %s", action.event_id,
                 ", ".join(f"{v.rule} {v.decision}" for v in verdicts), extra={"event_id": action.event_id})
        return verdicts, made, pictures

    def _tell(self, s, event_id: str, where: Channel, thread: Thread | None, previous: dict[str, str],
              verdicts: list[Verdict], made: list[tuple[FollowupRule, Made | str]], pictures: list[Picture]
              ) -> None:
        event = s.get_one(Event, event_id)
        event.verdicts = [verdict_to_json(v) for v in verdicts]
        for dropped in [v.rule for v in verdicts if previous.get(v.rule) == "GO" and v.decision != "GO"]:
            enqueue(s, Post(where, bk.no_longer(event_id, dropped), thread=thread), event_id=event_id)
        lanes = ([Channel(name=event.summary_channel)] if event.summary_channel else []) + \
            ([Channel(event=event_id)] if event.channel_id else [])
        for lane in lanes:
            enqueue(s, ShowVerdicts(event_id, lane), event_id=event_id)  # after the summary, in its lane
        if event.summary_channel:  # each facility's 24 h, in the event's thread
            for picture in pictures:
                enqueue(s, Upload(Channel(name=event.summary_channel), picture.filename, picture.title,
                                  Thread(event=True)), event_id=event_id, file=picture.data)
        if event.channel_id:
            enqueue(s, Topic(event_id, bk.event_topic(event.last_alert_type or "", EventFacts.from_json(event.facts),
                                                      event.retracted, bk.verdict_short(verdicts))),
                    event_id=event_id)
        plan_channel = event.channel_id or where.name
        for rule, plan in made:
            if isinstance(plan, str):
                enqueue(s, Post(where, f"{rule.name}: {plan}.", thread=thread), event_id=event_id)
                continue
            row = self.plans.record(s, plan, None, plan_channel, rule=rule.name)
            if rule.auto_submit and self.plans.approve_by_rule(s, row, rule.name):
                enqueue(s, SubmitPlan(row.id), event_id=event_id)
            text = bk.auto_plan_call(row.id, rule.name, self.settings.plans.approvers, rule.auto_submit)
            enqueue(s, Post(Channel(name=str(plan_channel)), text, thread=Thread(plan=row.id)), event_id=event_id)


