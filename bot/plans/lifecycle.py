"""The life of an observation plan: proposed, then approved and submitted exactly once, or rejected,
expired or superseded. State lives in the store; every transition is one conditional UPDATE, so a
double click, two approvers at once or a restart cannot submit a plan twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
from sqlalchemy import select, update

from bot.config import Settings
from bot.coordination import sharing
from bot.coordination.bands import band_for
from bot.coordination.coverage import Coverage, CoverageBook, Ours, Seen
from bot.coordination.coverage import build as coverage_build
from bot.coordination.treasuremap import Status
from bot.delivery.actions import CancelPlan, Channel, Post, ShowPlan, Thread, Upload
from bot.delivery.outbox import enqueue
from bot.events.maps import MapCache
from bot.plans import facilities as fac
from bot.plans.build import PlanResult, build
from bot.plans.errors import PlanError
from bot.plans.portals import submitter_for
from bot.plans.request import PlanRequest
from bot.plans.status import OPEN, PlanStatus, standing
from bot.plans.submitter import SubmitError, Submitter
from bot.store import Store, rows_changed
from bot.store.events import Event
from bot.store.plans import PlanRecord

log = logging.getLogger(__name__)

COMPLETED = "COMPLETED"  # a request's final state when its field was observed
CHANGES_BY_NAME = 3  # a follow-up line names at most this many changed requests; more are only counted

__all__ = ["Made", "NotAllowed", "PlanBook", "Told", "announce", "progress_line"]


@dataclass(frozen=True)
class Made:
    """A plan built for an event's map, not stored yet."""

    event_id: str
    version: int
    request: PlanRequest
    result: PlanResult
    others_note: str | None  # why others' coverage was not weighed, when it could not be


class Told(NamedTuple):
    """A change in a plan's life, in words; ``echo``: worth saying in the event's channel too (not each batch of
    request changes, which the plan's thread and its message carry)."""

    plan: PlanRecord
    text: str
    echo: bool = True


def progress_line(facility: str, states: dict[str, str], changed: dict[str, str], final: Mapping[str, str]) -> str:
    """One line for one batch of request changes: the few that changed by name, many as counts only, always
    with where the whole plan stands."""
    if len(changed) > CHANGES_BY_NAME:
        return f"{facility}: {standing(states, final)}"
    news = ", ".join(f"request {rid} is {final.get(state, state.lower())}" for rid, state in changed.items())
    return f"{facility} {news} ({standing(states, final)})"


class NotAllowed(Exception):
    """The person may not approve or reject plans."""


def announce(session, plan: PlanRecord, line: str | None = None, echo: bool = True) -> None:
    """Inside the caller's transaction: bring the plan's message up to date and, with ``line``, say what
    happened in its thread (and, with ``echo``, in the event's channel when that is elsewhere)."""
    if not plan.channel_id:
        return
    where = Channel(name=plan.channel_id)
    enqueue(session, ShowPlan(plan.id, where, edit=bool(plan.message_ts)), event_id=plan.event_id)
    if line is None:
        return
    enqueue(session, Post(where, line, thread=Thread(plan=plan.id)), event_id=plan.event_id)
    event = session.get(Event, plan.event_id)
    if echo and event is not None and event.channel_id and event.channel_id != plan.channel_id:
        enqueue(session, Post(Channel(event=plan.event_id), line), event_id=plan.event_id)


class PlanBook:
    """Every plan's life, and the plans' side of an event's life (:meth:`map_changed`)."""

    def __init__(self, store: Store, settings: Settings, maps: MapCache,
                 group_members: Callable[[str], set[str]] | None = None,
                 clock: Callable[[], float] = time.time,
                 submitters: Callable[[str, Settings], Submitter | None] = submitter_for,
                 coverage: CoverageBook | None = None) -> None:
        self.store = store
        self.settings = settings
        self.maps = maps
        self.group_members = group_members  # Slack user group -> its members (approvers given as a group)
        self.clock = clock
        self.submitters = submitters  # a facility's submit kind -> its portal
        self.coverage = coverage  # others' pointings, read from Treasure Map (None: not weighed)

    def map_changed(self, session, event_id: str, reason: str) -> None:
        """A newer sky map or a retraction: open plans of the event can no longer be approved; say so."""
        rows = list(session.scalars(select(PlanRecord).where(PlanRecord.event_id == event_id,
                                                             PlanRecord.status.in_(OPEN))))
        for row in rows:
            row.status, row.note = PlanStatus.SUPERSEDED, reason
            announce(session, row, f"Plan {row.id} is superseded: {reason}. Re-plan with the button above.")

    def approve_by_rule(self, session, row: PlanRecord, rule: str) -> bool:
        """A rule with ``auto_submit`` decides for the team: the plan is approved (the caller has it submitted), and
        its message says the rule decided. True when this call approved it."""
        if rows_changed(session.execute(update(PlanRecord).where(
                PlanRecord.id == row.id, PlanRecord.status == PlanStatus.PROPOSED)
                .values(status=PlanStatus.APPROVED, decided_by=f"rule:{rule}"[:32], decided_at=self.clock()))) != 1:
            return False
        session.refresh(row)
        self._share(session, row)
        log.info("plan %s approved by rule %s", row.id, rule, extra={"event_id": row.event_id})
        return True

    def retracted(self, session, event_id: str) -> None:
        """The event was retracted: every submitted plan of it is cancelled at its facility (through the outbox,
        after this transaction), and says so in its thread."""
        for row in session.scalars(select(PlanRecord).where(PlanRecord.event_id == event_id,
                                                            PlanRecord.status == PlanStatus.SUBMITTED)):
            self._cancelling(session, row.id, None, "the event was retracted")

    def cancel(self, plan_id: int, user: str) -> tuple[bool, PlanRecord]:
        """An approver's Cancel: (changed, plan). Only a submitted plan is cancelled, once; the facility is asked
        through the outbox. Pressing it again, or after the plan ended, changes nothing (the caller says why)."""
        if not self.is_approver(user):
            raise NotAllowed("Only the approvers set in GWBOT_APPROVERS may cancel observation plans.")
        with self.store.session() as s:
            changed = self._cancelling(s, plan_id, user, f"cancelled by <@{user}>")
            row = s.get_one(PlanRecord, plan_id)
            s.refresh(row)
        return changed, row

    def _cancelling(self, session, plan_id: int, user: str | None, why: str) -> bool:
        """One conditional UPDATE (submitted -> cancelling) decides; the winner queues the facility's cancel."""
        changed = rows_changed(session.execute(
            update(PlanRecord).where(PlanRecord.id == plan_id, PlanRecord.status == PlanStatus.SUBMITTED)
            .values(status=PlanStatus.CANCELLING, cancelled_by=user, cancelled_at=self.clock(), note=why))) == 1
        if changed:
            row = session.get_one(PlanRecord, plan_id)
            session.refresh(row)
            enqueue(session, CancelPlan(plan_id), event_id=row.event_id)
            announce(session, row)
            log.info("plan %s: cancelling at %s (%s)", plan_id, row.facility, why, extra={"event_id": row.event_id})
        return changed

    def cancel_at_facility(self, plan_id: int) -> dict[str, str] | str:
        """Ask the facility to cancel the plan's request group: each request's state after, or why it refused
        (in words). Transient trouble raises :class:`SubmitError` with ``retry``."""
        row = self.get(plan_id)
        assert row is not None and row.group_id is not None
        try:
            return self._submitter(row.facility).cancel(int(row.group_id))
        except SubmitError as exc:
            if exc.retry:
                raise
            return str(exc)

    def cancelled(self, session, plan_id: int, outcome: dict[str, str] | str) -> str:
        """Record what the facility did with a cancel and say it in words (the plan's thread gets the line)."""
        row = session.get_one(PlanRecord, plan_id, with_for_update=True)
        who = row.note or "cancelled"
        if isinstance(outcome, str):  # refused: the plan goes on as it was
            row.status, row.note = PlanStatus.SUBMITTED, f"Could not cancel ({who}): {outcome}"[:2000]
            return f"could not be cancelled at {row.facility.upper()}: {outcome}"
        before = dict(row.request_states or {})
        newly = [rid for rid, state in outcome.items() if state == "CANCELED" and before.get(rid) != "CANCELED"]
        row.request_states, row.status = outcome, PlanStatus.CANCELLED
        shared = sharing.cancel(session, plan_id)  # planned pointings only; what was observed stays completed
        what = (f"{len(newly)} request{'s' if len(newly) != 1 else ''} cancelled" if newly
                else "nothing was left to cancel")
        return (f"{who}: {what} at {row.facility.upper()} ({standing(outcome)})"
                + (f"; {shared} planned Treasure Map pointing(s) cancelled" if shared else ""))

    def is_approver(self, user: str) -> bool:
        """GWBOT_APPROVERS lists user IDs (U…/W…) and user groups (S…)."""
        if user in self.settings.plans.approvers:
            return True
        groups = [a for a in self.settings.plans.approvers if a.startswith("S")]
        members = self.group_members
        return members is not None and any(user in members(g) for g in groups)

    def _submitter(self, facility: str) -> Submitter:
        submitter = self.submitters(fac.facility_for(self.settings.plans, facility).submit, self.settings)
        if submitter is None:
            raise PlanError(f"{facility} takes plans by hand: there is nothing to submit")
        return submitter

    def observed(self, facility: str, request_id: str) -> float | None:
        """When the facility observed the request's field (None when it cannot say)."""
        try:
            return self._submitter(facility).observed(int(request_id))
        except (PlanError, ValueError):
            return None

    def check(self, request: PlanRequest) -> None:
        """Cheap checks before any work: the facility, instrument and filters exist (PlanError otherwise)."""
        facility = fac.facility_for(self.settings.plans, request.facility)
        facility.instrument(request.instrument).check_filters(tuple(request.filters or ()) + (
            (request.revisit,) if request.revisit else ()))

    def propose(self, event_id: str, request: PlanRequest, user: str | None, channel: str | None
                ) -> tuple[PlanRecord, PlanResult]:
        """Plan on the event's latest map, store the plan and queue its message (and picture) for ``channel``."""
        made = self.make(event_id, request)
        with self.store.session() as s:
            row = self.record(s, made, user, channel)
        return row, made.result

    def make(self, event_id: str, request: PlanRequest) -> Made:
        """The plan ``request`` asks for on the event's latest map (nothing stored yet)."""
        latest = self.maps.latest(event_id, request.map)
        if latest is None:
            which = "combined (GW x external) sky map" if request.map == "combined" else "sky map"
            raise PlanError(f"{event_id} has no {which} to plan on yet.")
        version, prepared = latest
        coverage = None if request.ignore_others else self._coverage(event_id, version, prepared, self._ours(event_id))
        result = build(prepared, event_id, self.settings, request, submitters=self.submitters, coverage=coverage)
        note = self._coverage_unknown(event_id) if coverage is None and not request.ignore_others else None
        return Made(event_id, version, request, result, note)

    def record(self, s, made: Made, user: str | None, channel: str | None, rule: str | None = None) -> PlanRecord:
        """Store a plan and queue its message (and picture) for ``channel``, in the caller's transaction."""
        event_id, result = made.event_id, made.result
        summary = result.to_dict()
        if made.others_note:
            summary["others_note"] = made.others_note
        row = PlanRecord(event_id=event_id, skymap_version=made.version, facility=result.facility.name,
                         request=asdict(made.request), summary=summary, payload=result.payload,
                         status=PlanStatus.PROPOSED if result.valid else PlanStatus.DRAFT, requested_by=user,
                         channel_id=channel, expires=self.clock() + 3600 * self.settings.plans.expiry_hours,
                         rule=rule)
        s.add(row)
        s.flush()
        if channel:
            where = Channel(name=channel)
            shown = enqueue(s, ShowPlan(row.id, where), event_id=event_id)
            enqueue(s, Upload(where, f"{event_id}-plan-{row.id}.png", f"{event_id} plan {row.id}",
                              Thread(plan=row.id)), event_id=event_id, file=result.png, depends_on=shown.id)
        log.info("plan %s for %s proposed (%s)%s", row.id, event_id, row.status, f" by rule {rule}" if rule else "",
                 extra={"event_id": event_id})
        return row

    def _coverage(self, event_id: str, version: int, prepared, ours: Ours) -> Coverage | None:
        """Others' coverage of the event on this map (when pointings have been read from Treasure Map) and our own
        submitted fields: a new plan does not plan again what an approved one will observe."""
        if self.coverage is not None:
            return self.coverage.coverage(event_id, version, prepared, ours=ours)
        return coverage_build(prepared, ours.seen, ours.footprints, 0.0) if ours.seen else None

    def _ours(self, event_id: str) -> Ours:
        """The fields of the event's approved and submitted plans, as completed pointings (each plan its own
        instrument id, negative: never a Treasure Map one), but for requests that ended unobserved."""
        seen: list[Seen] = []
        footprints: dict[int, list] = {}
        ended = {"CANCELED", "WINDOW_EXPIRED", "FAILURE_LIMIT_REACHED"}
        with self.store.session() as s:
            rows = list(s.scalars(select(PlanRecord).where(PlanRecord.event_id == event_id, PlanRecord.status.in_(
                (PlanStatus.APPROVED, PlanStatus.SUBMITTING, PlanStatus.SUBMITTED, PlanStatus.DONE)))))
        for row in rows:
            summary = row.summary or {}
            try:
                inst = fac.facility_for(self.settings.plans, row.facility).instrument(summary.get("instrument"))
            except PlanError:
                continue
            footprints[-row.id] = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
                                   for x0, x1, y0, y1 in inst.boxes()]
            ids, states = summary.get("request_ids") or [], row.request_states or {}
            for i, f in enumerate(summary.get("fields") or []):
                if f.get("revisit_of") is not None or (i < len(ids) and states.get(str(ids[i])) in ended):
                    continue
                seen.append(Seen(-row.id, -row.id, f"{inst.name} (ours, plan {row.id})", Status.COMPLETED,
                                 band_for(str(f.get("filter", "")).split(",")[0]).name, f["ra_deg"], f["dec_deg"],
                                 0.0, self.clock(), True))
        return Ours(seen, footprints)

    def _coverage_unknown(self, event_id: str) -> str | None:
        """Why a plan could not weigh others' coverage, in words (None when no one reads Treasure Map here)."""
        if self.coverage is None:
            return None
        read_at, _, problem = self.coverage.read_state(event_id)
        if read_at is not None:
            return None
        if problem:
            return (f"Others' coverage could not be read from Treasure Map ({problem}): this plan does not subtract "
                    "it. Re-plan once it is read.")
        return ("Others' coverage is still being read from Treasure Map: this plan does not subtract it yet. "
                "Re-plan in a few minutes to leave out what others have observed.")

    def get(self, plan_id: int) -> PlanRecord | None:
        with self.store.session() as s:
            return s.get_one(PlanRecord, plan_id)

    def tell(self, plan: PlanRecord, line: str | None = None) -> None:
        """:func:`announce` in a transaction of its own."""
        with self.store.session() as s:
            announce(s, s.get_one(PlanRecord, plan.id), line)

    def decide(self, plan_id: int, user: str, approve: bool) -> tuple[bool, PlanRecord]:
        """(changed, plan): only the first decision on an open, unexpired plan changes anything."""
        if not self.is_approver(user):
            raise NotAllowed(f"Only the approvers set in GWBOT_APPROVERS may {'approve' if approve else 'reject'} "
                             "observation plans.")
        now = self.clock()
        with self.store.session() as s:
            changed = rows_changed(s.execute(
                update(PlanRecord)
                .where(PlanRecord.id == plan_id, PlanRecord.status == PlanStatus.PROPOSED, PlanRecord.expires > now)
                .values(status=PlanStatus.APPROVED if approve else PlanStatus.REJECTED, decided_by=user,
                        decided_at=now)
            )) == 1
            row = s.get_one(PlanRecord, plan_id)
            s.refresh(row)
            if changed and approve:
                self._share(s, row)
        log.info("plan %s %s by %s", plan_id, row.status if changed else f"left {row.status}", user)
        return changed, row

    def _share(self, session, row: PlanRecord) -> None:
        """An approved plan's fields go to Treasure Map as planned pointings (when sharing is set up)."""
        try:
            facility = fac.facility_for(self.settings.plans, row.facility)
            instrument = facility.instrument((row.summary or {}).get("instrument"))
        except PlanError:
            return
        n = sharing.plan_pointings(session, row, instrument, self.settings)
        if n:
            log.info("plan %s: %s pointings to share with Treasure Map", row.id, n, extra={"event_id": row.event_id})

    def submit(self, plan_id: int) -> PlanRecord:
        """Send an approved plan to the facility; only an 'approved' plan is sent, and only once."""
        with self.store.session() as s:
            claimed = rows_changed(s.execute(update(PlanRecord)
                                .where(PlanRecord.id == plan_id, PlanRecord.status == PlanStatus.APPROVED)
                                .values(status=PlanStatus.SUBMITTING))) == 1
            row = s.get_one(PlanRecord, plan_id)
        if not claimed:
            return row
        try:
            submitted = self._submitter(row.facility).submit(dict(row.payload or {}))
        except SubmitError as exc:
            status = PlanStatus.APPROVED if exc.retry else PlanStatus.FAILED  # transient: the follow job retries
            with self.store.session() as s:
                row = s.get_one(PlanRecord, plan_id)
                row.status, row.note = status, str(exc)[:2000]
                if status == PlanStatus.FAILED:
                    sharing.cancel(s, plan_id)
            log.warning("plan %s submission %s: %s", plan_id, "will retry" if exc.retry else "failed", exc)
            return row
        with self.store.session() as s:
            row = s.get_one(PlanRecord, plan_id)
            row.status, row.group_id, row.group_url = PlanStatus.SUBMITTED, submitted.group_id, submitted.url
            row.request_states = submitted.states
            row.summary = {**(row.summary or {}), "request_ids": list(submitted.states)}  # one per field, in order
            row.note = None
            sharing.link_requests(s, plan_id, list(submitted.states))
        log.info("plan %s submitted as request group %s", plan_id, submitted.group_id,
                 extra={"event_id": row.event_id})
        return row

    def follow(self) -> list[Told]:
        """Expire stale proposals, retry pending submissions, and report LCO state changes."""
        now, told = self.clock(), []
        with self.store.session() as s:
            for row in s.scalars(select(PlanRecord).where(PlanRecord.status.in_(OPEN), PlanRecord.expires <= now)):
                # one conditional UPDATE each: with two replicas following, only one of them tells
                if rows_changed(s.execute(update(PlanRecord).where(PlanRecord.id == row.id,
                                                                   PlanRecord.status.in_(OPEN))
                                          .values(status=PlanStatus.EXPIRED))) == 1:
                    s.refresh(row)
                    told.append(Told(row, "expired without approval"))
            retry = [r.id for r in s.scalars(select(PlanRecord).where(PlanRecord.status == PlanStatus.APPROVED))]
            followed = [r.id for r in s.scalars(select(PlanRecord).where(PlanRecord.status == PlanStatus.SUBMITTED))]
        for plan_id in retry:
            row = self.submit(plan_id)
            if row.status == PlanStatus.SUBMITTED:
                told.append(Told(row, f"submitted to {row.facility.upper()} as request group {row.group_id}"))
        for plan_id in followed:
            told += self._follow_one(plan_id)
        return told

    def _follow_one(self, plan_id: int) -> list[Told]:
        with self.store.session() as s:
            row = s.get_one(PlanRecord, plan_id)
        submitter = self._submitter(row.facility)
        try:
            states = submitter.states(int(row.group_id or 0))
        except SubmitError as exc:
            log.warning("cannot follow plan %s: %s", plan_id, exc)
            return []
        final = submitter.final_states
        old_states = dict(row.request_states or {})
        observed = {rid: submitter.observed(int(rid)) for rid, state in states.items()
                    if state == COMPLETED and old_states.get(rid) != state}
        with self.store.session() as s:  # the row locked: a second replica following too sees these states as told
            row = s.get_one(PlanRecord, plan_id, with_for_update=True)
            old = dict(row.request_states or {})
            changed = {rid: state for rid, state in states.items() if old.get(rid) != state}
            for request_id, state in changed.items():
                if state == COMPLETED:
                    sharing.complete(s, plan_id, request_id, observed.get(request_id))
                elif state in final:
                    sharing.cancel(s, plan_id, request_id)
            row.request_states = states
            if states and all(state in final for state in states.values()):
                row.status = PlanStatus.DONE
        if not changed:
            return []
        line = progress_line(row.facility.upper(), states, changed, final)
        return [Told(row, line, echo=row.status != PlanStatus.SUBMITTED)]
