"""The life of an observation plan: proposed, then approved and submitted exactly once, or rejected,
expired or superseded. State lives in the store; every transition is one conditional UPDATE, so a
double click, two approvers at once or a restart cannot submit a plan twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict

from sqlalchemy import select, update

from bot.commands.answers import MapCache
from bot.commands.parse import PlanRequest, UsageError
from bot.config import ConfigError, Settings
from bot.events.store import PlanRecord, Store
from bot.plans import facilities as fac
from bot.plans.build import build
from bot.plans.lco import FINAL_STATES, LCOError, Portal

log = logging.getLogger(__name__)

OPEN = ("proposed", "draft")


class NotAllowed(Exception):
    """The person may not approve or reject plans."""


def as_dict(row: PlanRecord) -> dict:
    return {c.name: getattr(row, c.name) for c in PlanRecord.__table__.columns}


def supersede(session, event_id: str, reason: str) -> list[PlanRecord]:
    """Inside the caller's transaction: open plans of the event can no longer be approved."""
    rows = list(session.scalars(select(PlanRecord).where(PlanRecord.event_id == event_id,
                                                         PlanRecord.status.in_(OPEN))))
    for row in rows:
        row.status, row.note = "superseded", reason
    return rows


class PlanBook:
    def __init__(self, store: Store, settings: Settings, maps: MapCache,
                 group_members: Callable[[str], set[str]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.maps = maps
        self.group_members = group_members  # Slack user group -> its members (set by the Slack layer)
        self.clock = clock

    def is_approver(self, user: str) -> bool:
        """GWBOT_APPROVERS lists user IDs (U…/W…) and user groups (S…)."""
        if user in self.settings.approvers:
            return True
        groups = [a for a in self.settings.approvers if a.startswith("S")]
        return bool(self.group_members) and any(user in self.group_members(g) for g in groups)

    def _portal(self) -> Portal:
        return Portal(self.settings.lco_api_url, self.settings.lco_api_token or "")

    def check(self, request: PlanRequest) -> None:
        """Cheap checks before any work: the facility, instrument and filters exist."""
        try:
            facility = fac.lookup({"facilities": list(self.settings.facility_tables)}, request.facility)
            facility.instrument(request.instrument).check_filters(tuple(request.filters or ()))
        except ValueError as exc:  # ConfigError is a ValueError too
            raise UsageError(str(exc)) from None

    def propose(self, event_id: str, request: PlanRequest, user: str | None, channel: str | None):
        latest = self.maps.latest(event_id, request.map)
        if latest is None:
            which = "combined (GW x external) sky map" if request.map == "combined" else "sky map"
            raise UsageError(f"{event_id} has no {which} to plan on yet.")
        version, prepared = latest
        try:
            result = build(prepared, event_id, self.settings, request.facility, instrument=request.instrument,
                           filters=request.filters, exposure_s=request.exposure_s, n_fields=request.fields,
                           hours=request.hours, galaxies=request.galaxies)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        with self.store.session() as s:
            row = PlanRecord(event_id=event_id, skymap_version=version, facility=result.facility.name,
                             request=asdict(request), summary=result.to_dict(), payload=result.payload,
                             status="proposed" if result.valid else "draft", requested_by=user, channel_id=channel,
                             expires=self.clock() + 3600 * self.settings.plan_expiry_hours)
            s.add(row)
        log.info("plan %s for %s proposed (%s)", row.id, event_id, row.status, extra={"event_id": event_id})
        return row, result

    def get(self, plan_id: int) -> PlanRecord | None:
        with self.store.session() as s:
            return s.get(PlanRecord, plan_id)

    def set_message(self, plan_id: int, channel: str, ts: str) -> None:
        with self.store.session() as s:
            row = s.get(PlanRecord, plan_id)
            row.channel_id, row.message_ts = channel, ts

    def decide(self, plan_id: int, user: str, approve: bool) -> tuple[bool, PlanRecord]:
        """(changed, plan): only the first decision on an open, unexpired plan changes anything."""
        if not self.is_approver(user):
            raise NotAllowed(f"Only the approvers set in GWBOT_APPROVERS may {'approve' if approve else 'reject'} "
                             "observation plans.")
        now = self.clock()
        with self.store.session() as s:
            changed = s.execute(
                update(PlanRecord)
                .where(PlanRecord.id == plan_id, PlanRecord.status == "proposed", PlanRecord.expires > now)
                .values(status="approved" if approve else "rejected", decided_by=user, decided_at=now)
            ).rowcount == 1
            row = s.get(PlanRecord, plan_id)
            s.refresh(row)
        log.info("plan %s %s by %s", plan_id, row.status if changed else f"left {row.status}", user)
        return changed, row

    def submit(self, plan_id: int) -> PlanRecord:
        """Send an approved plan to the facility; only an 'approved' plan is sent, and only once."""
        with self.store.session() as s:
            claimed = s.execute(update(PlanRecord).where(PlanRecord.id == plan_id, PlanRecord.status == "approved")
                                .values(status="submitting")).rowcount == 1
            row = s.get(PlanRecord, plan_id)
        if not claimed:
            return row
        try:
            group = self._portal().submit(row.payload)
        except LCOError as exc:
            status = "approved" if exc.retry else "failed"  # a transient fault: the follow job retries
            with self.store.session() as s:
                row = s.get(PlanRecord, plan_id)
                row.status, row.note = status, str(exc)[:2000]
            log.warning("plan %s submission %s: %s", plan_id, "will retry" if exc.retry else "failed", exc)
            return row
        with self.store.session() as s:
            row = s.get(PlanRecord, plan_id)
            row.status, row.group_id = "submitted", group["id"]
            row.request_states = {str(r["id"]): r.get("state", "PENDING") for r in group.get("requests", [])}
            row.note = None
        log.info("plan %s submitted as LCO request group %s", plan_id, group["id"], extra={"event_id": row.event_id})
        return row

    def follow(self) -> list[tuple[PlanRecord, str]]:
        """Expire stale proposals, retry pending submissions, and report LCO state changes."""
        now, told = self.clock(), []
        with self.store.session() as s:
            expired = list(s.scalars(select(PlanRecord).where(PlanRecord.status.in_(OPEN), PlanRecord.expires <= now)))
            for row in expired:
                row.status = "expired"
                told.append((row, "expired without approval"))
            retry = [r.id for r in s.scalars(select(PlanRecord).where(PlanRecord.status == "approved"))]
            followed = [r.id for r in s.scalars(select(PlanRecord).where(PlanRecord.status == "submitted"))]
        for plan_id in retry:
            row = self.submit(plan_id)
            if row.status == "submitted":
                told.append((row, f"submitted to LCO as request group {row.group_id}"))
        for plan_id in followed:
            told += self._follow_one(plan_id)
        return told

    def _follow_one(self, plan_id: int) -> list[tuple[PlanRecord, str]]:
        row = self.get(plan_id)
        portal = self._portal()
        try:
            group = portal.request_group(row.group_id)
            states = {}
            for request in group.get("requests", []):
                state = request.get("state", "PENDING")
                if state == "PENDING" and portal.scheduled(request["id"]):
                    state = "SCHEDULED"
                states[str(request["id"])] = state
        except LCOError as exc:
            log.warning("cannot follow plan %s: %s", plan_id, exc)
            return []
        told = []
        with self.store.session() as s:
            row = s.get(PlanRecord, plan_id)
            old = dict(row.request_states or {})
            for request_id, state in states.items():
                if old.get(request_id) != state:
                    word = FINAL_STATES.get(state, state.lower())
                    told.append((row, f"LCO request {request_id} is {word}"))
            row.request_states = states
            if states and all(state in FINAL_STATES for state in states.values()):
                row.status = "done"
        return told
