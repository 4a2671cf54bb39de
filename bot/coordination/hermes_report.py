"""A plan's follow-up reported through HERMES, human-approved: prepared from what was observed (the fields, at
their depth, as non-detections; the candidates the team marked as targets; the pointings in
``data.extra_data``), checked by HERMES, then published once by an approver (:func:`handler`, through the
outbox) or opened pre-filled in HERMES's web form to edit there."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from bot.brokers.record import Point, mjd_to_unix
from bot.candidates.evidence import points_of
from bot.commands.records import ReportView
from bot.config import Settings
from bot.coordination.hermes import Hermes, HermesError, Published, Refused
from bot.delivery.actions import Channel, Post, PublishHermes, Thread
from bot.delivery.outbox import Sender, enqueue
from bot.plans.observed import Observed, observed_fields
from bot.slack import blocks as bk
from bot.store import rows_changed
from bot.store.candidates import CandidateRecord
from bot.store.coordination import HermesReport, HermesSeen
from bot.store.delivery import Delivery
from bot.store.plans import PlanRecord
from bot.vetting.states import Status as VetStatus

log = logging.getLogger(__name__)

__all__ = ["Marked", "Reports", "handler", "marked_of", "message_for"]



@dataclass(frozen=True)
class Marked:
    """A candidate the team marked for the report (Mark for report, or voted Interesting / Follow up), with the
    light curve the alerts carried."""

    name: str
    ra: float
    dec: float
    broker: str
    photometry: tuple[Point, ...] = ()
    note: str | None = None  # the team's verdict, in words


def marked_of(session, row: CandidateRecord) -> Marked:
    status = VetStatus(row.status or VetStatus.NEW)
    note = status.words if status is not VetStatus.NEW else None
    return Marked(row.object_id, row.ra, row.dec, row.broker, points_of(session, row), note)


def _candidate_photometry(m: Marked) -> list[dict[str, Any]]:
    """HERMES photometry rows (hermes/utils.py columns): detections with brightness and error, limits with
    limiting_brightness; the camera as the alert named it."""
    rows = []
    for p in m.photometry:
        row: dict[str, Any] = {"target_name": m.name, "date_obs": _iso(mjd_to_unix(p.mjd)), "bandpass": p.band,
                               "instrument": p.instrument or f"unknown (via {m.broker})"}
        if p.limit:
            row.update(limiting_brightness=round(p.mag, 3), limiting_brightness_unit="AB mag")
        else:
            row.update(brightness=round(p.mag, 3), brightness_unit="AB mag")
            if p.err is not None:
                row["brightness_error"] = round(p.err, 3)
        rows.append(row)
    return rows


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def message_for(event_id: str, facility: str, instrument: str, observed: list[Observed], marked: list[Marked],
                settings: Settings, reference: str) -> dict[str, Any]:
    """The HERMES message (``hermes/serializers.py`` ``HermesMessageSerializer``)."""
    estimated = any(o.depth_estimated for o in observed)
    bands = sorted({o.band for o in observed})
    lines = [f"{facility.upper()} {instrument} observed {len(observed)} fields in the localization of {event_id} "
             f"({', '.join(bands)})" + (f", {_iso(min(o.time for o in observed))} to "
                                        f"{_iso(max(o.time for o in observed))} UTC." if observed else ".")]
    if estimated:
        lines.append("Limiting magnitudes are the instrument's typical depth for the exposure, not measured on "
                     "the frames.")
    if marked:
        lines.append("Candidates of interest: " + ", ".join(f"{m.name} ({m.note})" if m.note else m.name
                                                              for m in marked) + ".")
    lines.append("Pointings are also on Treasure Map." if settings.coordination.treasuremap_api_token else "")
    targets = [{"name": m.name, "ra": m.ra, "dec": m.dec} for m in marked]
    targets += [{"name": o.name, "ra": round(o.ra, 6), "dec": round(o.dec, 6)} for o in observed]
    photometry = [row for m in marked for row in _candidate_photometry(m)]
    photometry += [{"target_name": o.name, "date_obs": _iso(o.time), "telescope": facility.upper(),
                   "instrument": instrument, "bandpass": o.band, "limiting_brightness": round(o.depth, 2),
                   "limiting_brightness_unit": "AB mag",
                   "comments": "field limit" + (" (estimated)" if o.depth_estimated else "")}
                  for o in observed if o.depth is not None]
    pointings = [{"ra": o.ra, "dec": o.dec, "band": o.band, "time": _iso(o.time), "depth": o.depth,
                  "depth_unit": "ab_mag", "depth_estimated": o.depth_estimated, "status": "completed"}
                 for o in observed]
    return {"title": f"{event_id}: {facility.upper()} {instrument} follow-up, {len(observed)} fields observed",
            "topic": settings.coordination.hermes_topic, "submitter": settings.coordination.hermes_submitter or "gwbot",
            "authors": settings.coordination.hermes_authors, "message_text": "\n".join(line for line in lines if line),
            "data": {"event_id": event_id, "targets": targets, "photometry": photometry,
                     "extra_data": {"pointings": pointings, "gwbot_report": reference}}}


class Reports:
    """Preparing and publishing HERMES reports of plans."""

    def __init__(self, store, settings: Settings, is_approver: Callable[[str], bool],
                 observed_at: Callable[[str, str], float | None], client: Hermes | None = None) -> None:
        self.store = store
        self.settings = settings
        self.is_approver = is_approver
        self.observed_at = observed_at  # (facility, request id) -> when it was observed
        self.client = client or Hermes(settings.coordination.hermes_api_url, settings.coordination.hermes_api_token)

    def _observed(self, plan: PlanRecord) -> list[Observed]:
        return observed_fields(self.store, self.settings, plan, self.observed_at)

    def prepare(self, plan_id: int, user: str, channel: str | None, thread_ts: str | None) -> HermesReport:
        """Build the plan's report, have HERMES check it (and keep it for the web form), post it for approval."""
        with self.store.session() as s:
            plan = s.get_one(PlanRecord, plan_id)
            marked = [marked_of(s, c) for c in s.scalars(select(CandidateRecord).where(
                CandidateRecord.event_id == plan.event_id,
                CandidateRecord.marked_by.is_not(None)
                | CandidateRecord.status.in_([VetStatus.INTERESTING.value, VetStatus.FOLLOW_UP.value])))]
        observed = self._observed(plan)
        if not observed:
            raise HermesError(f"plan {plan_id} has no observed fields yet: nothing to report")
        with self.store.session() as s:
            row = HermesReport(plan_id=plan_id, event_id=plan.event_id, message={}, prepared_by=user,
                               channel_id=channel, thread_ts=thread_ts)
            s.add(row)
            s.flush()
            report_id = row.id
        summary = plan.summary or {}
        message = message_for(plan.event_id, plan.facility, str(summary.get("instrument")), observed, marked,
                              self.settings, f"gwbot:{plan.event_id}:{report_id}")
        errors, key, note, valid = [], None, None, False
        if self.settings.coordination.hermes_api_token:
            errors = self.client.validate(message)
            valid = not errors
            try:
                key = self.client.preload(message)
            except HermesError as exc:
                note = f"no web-form link: {exc}"
        else:
            note = "HERMES_API_TOKEN is not set: the report cannot be checked or published from here"
        with self.store.session() as s:
            row = s.get_one(HermesReport, report_id)
            row.message, row.errors, row.preload_key, row.note, row.valid = message, errors, key, note, valid
            self.show(s, row)
        log.info("HERMES report %s of plan %s prepared (%s errors)", report_id, plan_id, len(errors),
                 extra={"event_id": plan.event_id})
        return row

    def show(self, session, row: HermesReport) -> None:
        """Queue the report's message (its state now) in the plan's thread."""
        if not row.channel_id:
            return
        text, blocks = bk.hermes_report(self.view(row))
        enqueue(session, Post(Channel(name=row.channel_id), text, blocks,
                              Thread(ts=row.thread_ts) if row.thread_ts else None), event_id=row.event_id)

    def view(self, row: HermesReport) -> ReportView:
        data = row.message.get("data", {})
        return ReportView(
            row.id, row.event_id, str(row.message.get("title", "")), str(row.message.get("topic", "")),
            len(data.get("extra_data", {}).get("pointings", [])),
            tuple(str(t["name"]) for t in data.get("targets", []) if not str(t["name"]).startswith(row.event_id)),
            tuple(row.errors or ()), row.note, row.status, row.uuid,
            self.client.preload_url(row.preload_key) if row.preload_key else None,
            self.client.message_url(row.uuid) if row.uuid else None,
            bool(self.settings.coordination.hermes_api_token) and row.valid, row.published_by)

    def publish(self, report_id: int, user: str) -> tuple[bool, str]:
        """Claim the report for publishing (approvers only, once, however often the button is pressed)."""
        if not self.is_approver(user):
            return False, "Only the approvers set in GWBOT_APPROVERS may publish to HERMES."
        with self.store.session() as s:
            claimed = rows_changed(s.execute(update(HermesReport).where(
                HermesReport.id == report_id, HermesReport.status == "prepared", HermesReport.valid.is_(True))
                .values(status="publishing", published_by=user))) == 1
            row = s.get_one(HermesReport, report_id)
            if claimed:
                enqueue(s, PublishHermes(report_id), event_id=row.event_id)
        if not claimed:
            return False, f"HERMES report {report_id} is {row.status}" + (
                " and has errors to fix first" if row.errors else "") + ": not published again."
        return True, f"Publishing HERMES report {report_id} to {row.message.get('topic')}…"


def handler(settings: Settings, reports: Reports) -> Sender:
    """The outbox's way of making a :class:`PublishHermes` delivery: submit once; after an unknown outcome,
    find the message on HERMES (by the report reference in its data) before submitting again."""
    client = Hermes(settings.coordination.hermes_api_url, settings.coordination.hermes_api_token)

    def make(session, delivery: Delivery, action: Any):
        row = session.get_one(HermesReport, action.report_id)
        message, event_id, report_id = dict(row.message), row.event_id, row.id
        reference = message.get("data", {}).get("extra_data", {}).get("gwbot_report")
        unknown = bool((delivery.result or {}).get("unknown"))

        def call() -> Published | Refused:
            return client.submit_once(message, event_id, lambda found: (found.get("data") or {}).get(
                "extra_data", {}).get("gwbot_report") == reference, unknown)

        def finish(s2, _d, outcome: Published | Refused) -> None:
            report = s2.get_one(HermesReport, report_id)
            if isinstance(outcome, Refused):
                report.status, report.note = "failed", outcome.reason[:500]
                log.error("HERMES report %s not published: %s", report_id, outcome.reason, extra={"event_id": event_id})
            else:
                report.status, report.uuid = "published", outcome.uuid
                if s2.get(HermesSeen, outcome.uuid) is None:
                    s2.add(HermesSeen(uuid=outcome.uuid, event_id=event_id))
                log.info("HERMES report %s published as %s", report_id, outcome.uuid, extra={"event_id": event_id})
            reports.show(s2, report)

        return call, finish

    return make

