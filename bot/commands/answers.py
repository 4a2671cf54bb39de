"""Answers to /gw commands, computed from the store and the sky-map core (no Slack I/O here).

Lists and the status are plain records (:class:`EventLine`, :class:`StatusReport`), worded for Slack in
:mod:`bot.slack.blocks`. Checks, pictures and summaries come as a :class:`Reply` (the words built there too),
with whether it is for the channel or only for the person who asked, and an optional file to upload.
"""

from __future__ import annotations

import builtins
import difflib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select, text

from bot import __version__
from bot.candidates import vetting
from bot.candidates.active import merger_mjd
from bot.candidates.digest import line_of
from bot.candidates.vetting import Vote
from bot.commands.check import check
from bot.commands.parse import USAGE, CandidateQuery, Transient, UsageError
from bot.commands.records import (
    SHOWN_CANDIDATES,
    CandidateLine,
    CandidateList,
    CheckAnswer,
    CoverageAnswer,
    CoverageView,
    EventLine,
    Marked,
    MarkOutcome,
    Picture,
    RulesView,
    Scan,
    StatusReport,
    StoredSummary,
    TopicLine,
)
from bot.commands.text import check_csv
from bot.config import PlanSettings
from bot.coordination.coverage import CoverageBook, covered_by_family, drawn
from bot.coordination.treasuremap import Status
from bot.events.facts import EventFacts
from bot.events.maps import MapCache
from bot.ingest.gwalert import epoch
from bot.plans import facilities as fac
from bot.plans.errors import PlanError
from bot.plans.planner import sample_points
from bot.plans.verdict import verdict_from_json
from bot.plans.visibility import observability, shared_picture
from bot.skymap.render import Labels, Outline, labels_for, render_png
from bot.skymap.summary import summarize
from bot.slack.budget import MethodRate
from bot.store import Store
from bot.store.candidates import CandidateDetection, CandidateRecord
from bot.store.delivery import Delivery
from bot.store.events import Event, TopicProgress
from bot.vetting.states import Status as VetStatus

COLOURS = ("tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan",
           "tab:gray", "tab:blue")


def _topic_lines(rows: builtins.list[TopicProgress], now: float) -> builtins.list[TopicLine]:
    """One line per topic: the alert topics as stored, broker topics (``broker:topic#partition``) summed."""
    lines: builtins.list[TopicLine] = []
    brokers: dict[str, builtins.list[TopicProgress]] = {}
    for t in rows:
        if "#" in t.topic:
            brokers.setdefault(t.topic.rsplit("#", 1)[0], []).append(t)
        else:
            lines.append(TopicLine(t.topic, now - t.last_received, t.last_offset, t.silent or 0))
    for topic, parts in brokers.items():
        lags = [p.lag for p in parts if p.lag is not None]
        lines.append(TopicLine(topic, now - max(p.last_received for p in parts), None, 0,
                               sum(lags) if lags else None, sum(p.rate or 0.0 for p in parts)))
    return lines


class Answers:
    def __init__(self, store: Store, maps: MapCache | None = None,
                 stream_status: Callable[[], dict] = dict, started: float | None = None,
                 coverage: CoverageBook | None = None,
                 slack_calls: Callable[[], list[MethodRate]] = list, plans: PlanSettings | None = None) -> None:
        self.store = store
        self.plans = plans or PlanSettings()  # the facilities and follow-up rules
        self.slack_calls = slack_calls
        self.maps = maps or MapCache(store)
        self.coverage_book = coverage
        self.stream_status = stream_status
        self.started = started or time.time()

    # --- which event ------------------------------------------------------------------------------

    def event(self, event_id: str | None, channel_id: str | None, usage: str) -> Event:
        """The event named, or the one whose channel this is; a UsageError that helps otherwise."""
        with self.store.session() as s:
            if event_id is None:
                event = s.scalar(select(Event).where(Event.channel_id == channel_id)) if channel_id else None
                if event is None:
                    raise UsageError(f"Which event? This is not an event channel, so give its ID.\nUsage: {usage}")
                return event
            event = s.get(Event, event_id)
            if event is not None:
                return event
            known = list(s.scalars(select(Event.event_id)))
        close = difflib.get_close_matches(event_id, known, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else " See /gw list for the events I know."
        raise UsageError(f"I have no alert for {event_id}.{hint}")

    def event_of_channel(self, channel_id: str | None) -> Event | None:
        """The event whose channel this is, if any."""
        if not channel_id:
            return None
        with self.store.session() as s:
            return s.scalar(select(Event).where(Event.channel_id == channel_id))

    # --- commands ---------------------------------------------------------------------------------

    def events(self, count: int) -> builtins.list[EventLine]:
        """The ``count`` most recently updated events, newest first."""
        now = time.time()
        with self.store.session() as s:
            rows = builtins.list(s.scalars(select(Event).order_by(Event.updated.desc()).limit(count)))
        return [EventLine(e.event_id, bool(e.is_mock), bool(e.retracted), e.last_alert_type,
                          EventFacts.from_json(e.facts), max(0.0, now - e.updated), e.channel_id) for e in rows]

    def info(self, event: Event) -> StoredSummary:
        summary = event.summary or {}
        return StoredSummary(event.event_id, summary.get("text"), summary.get("blocks") or [], bool(event.retracted),
                             event.channel_id, event.channel_name)

    def skymap(self, event: Event) -> Picture:
        latest = self.maps.latest(event.event_id)
        if latest is None:
            raise UsageError(f"{event.event_id} has no sky map yet.")
        _, prepared = latest
        summary = summarize(prepared)
        png = render_png(prepared, labels_for(summary, event.event_id, event.last_alert_type))
        title = f"{event.event_id} {event.last_alert_type or ''} sky map".replace("  ", " ")
        return Picture(f"{event.event_id}.png", png, title)

    def rules(self, event: Event | None) -> RulesView:
        """The follow-up rules, and the verdicts they gave the event's latest map."""
        verdicts = tuple(verdict_from_json(v) for v in (event.verdicts or [])) if event is not None else ()
        return RulesView(self.plans.followup, event.event_id if event is not None else None, verdicts)

    def visibility(self, event: Event, facility_name: str, instrument: str | None) -> Picture:
        """What the facility can observe of the event's latest map in the next 24 h, hour by hour per site."""
        latest = self.maps.latest(event.event_id)
        if latest is None:
            raise UsageError(f"{event.event_id} has no sky map yet.")
        try:
            facility = fac.facility_for(self.plans, facility_name)
            inst = facility.instrument(instrument)
        except PlanError as exc:
            raise UsageError(str(exc)) from None
        seen = observability(latest[1], facility, inst, datetime.now(UTC), 24.0)
        return Picture(*shared_picture(seen, event.event_id, facility, inst, 24.0))

    def coverage(self, event: Event) -> CoverageAnswer:
        """Everyone's footprints on the event's map, coloured by instrument, with the probability they hold."""
        book = self.coverage_book
        latest = self.maps.latest(event.event_id)
        if book is None or latest is None:
            raise UsageError(f"{event.event_id} has no sky map yet." if latest is None else
                             "Reading Treasure Map is not set up in this bot.")
        version, prepared = latest
        _, tried_at, _ = book.read_state(event.event_id)
        if tried_at is None or book.clock() - tried_at > book.settings.coordination.coverage_seconds:
            book.refresh(event.event_id, version)
        read_at, _, problem = book.read_state(event.event_id)
        cov = book.coverage(event.event_id, version, prepared)
        shapes = drawn(cov) if cov is not None else []
        names = sorted({d.pointing.instrument for d in shapes})
        colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}
        outlines = [Outline(np.deg2rad(c[:, 0]), np.deg2rad(c[:, 1]), colours[d.pointing.instrument],
                            d.pointing.status is Status.PLANNED) for d in shapes for c in d.ccds]
        samples = sample_points(prepared, 0.1)
        by_family = {f.value: v for f, v in covered_by_family(cov, samples).items()} if cov is not None else {}
        instruments: dict[str, int] = {}
        for d in shapes:
            instruments[d.pointing.instrument] = instruments.get(d.pointing.instrument, 0) + 1
        view = CoverageView(event.event_id, read_at, problem, len(shapes), sum(d.pointing.ours for d in shapes),
                            instruments, by_family)
        subtitle = "  ·  ".join(f"{family}: {100 * done:.1f}% observed" for family, (done, _) in by_family.items())
        png = render_png(prepared, Labels(f"{event.event_id} · coverage", subtitle or "no pointings yet"),
                         footprints=outlines, legend={f"{name} ({instruments[name]})": colours[name] for name in names})
        return CoverageAnswer(view, Picture(f"{event.event_id}-coverage.png", png,
                                            f"{event.event_id} coverage (Treasure Map)"))

    def mark_candidate(self, event_id: str, broker: str, object_id: str, user: str) -> Marked:
        """Mark a broker candidate for the event's HERMES reports (its targets), once."""
        with self.store.session() as s:
            row = s.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event_id,
                                                          CandidateRecord.broker == broker,
                                                          CandidateRecord.object_id == object_id)).first()
            if row is None:
                return Marked(MarkOutcome.GONE, event_id, object_id)
            if row.marked_by:
                return Marked(MarkOutcome.ALREADY, event_id, object_id, row.marked_by)
            row.marked_by = user
        return Marked(MarkOutcome.MARKED, event_id, object_id, user)

    def check(self, event: Event, candidates: builtins.list[Transient]) -> CheckAnswer:
        if event.retracted:
            raise UsageError(f"{event.event_id} was retracted: it is not astrophysical, so there is nothing to "
                             "check against.")
        if not candidates:
            raise UsageError(f"Give a position.\nUsage: {USAGE['check']}")
        latest = self.maps.latest(event.event_id)
        if latest is None:
            raise UsageError(f"{event.event_id} has no sky map yet.")
        _, prepared = latest
        combined = self.maps.latest(event.event_id, "combined")
        event_time = epoch(EventFacts.from_json(event.facts).event_time)
        merger = datetime.fromtimestamp(event_time, UTC) if event_time is not None else None
        result = check(prepared, candidates, merger, event.event_id, combined[1] if combined else None,
                       self._observatory(event.event_id) if combined else None)
        csv = Picture(f"{event.event_id}-check.csv", check_csv(result), f"{event.event_id} counterpart check") \
            if len(candidates) > SHOWN_CANDIDATES else None
        return CheckAnswer(result, csv)

    def candidates(self, event: Event, query: CandidateQuery) -> CandidateList:
        """The event's broker candidates so far, best first (for the person who asked)."""
        with self.store.session() as s:
            rows = builtins.list(s.scalars(select(CandidateRecord).where(CandidateRecord.event_id == event.event_id)))
            counts = {cid: n for cid, n in s.execute(
                select(CandidateDetection.candidate_id, func.count())
                .where(CandidateDetection.candidate_id.in_([r.id for r in rows]))
                .group_by(CandidateDetection.candidate_id))}
        merger = merger_mjd(event)
        lines = [line_of(r, merger, counts.get(r.id, 1)) for r in rows
                 if (query.broker is None or r.broker == query.broker
                     or any(a.startswith(f"{query.broker}:") for a in r.aliases or ()))
                 and (query.max_cl is None or r.credible_level <= query.max_cl)
                 and (query.status is None or (r.status or VetStatus.NEW) == query.status)]
        lines.sort(key=lambda line: (not line.inside, line.rank_key()))
        return CandidateList(event.event_id, lines, query.count)

    def vote(self, v: Vote) -> CandidateLine | None:
        """A verdict on a candidate: kept, its message edited, said in its thread."""
        return vetting.vote(self.store, v)

    def ask_evidence(self, candidate_id: int, channel: str, thread_ts: str | None) -> bool:
        return vetting.ask_evidence(self.store, candidate_id, channel, thread_ts)

    def scan(self, event: Event) -> Scan:
        """The event's scanning summary."""
        return vetting.scan(self.store, event)

    def _observatory(self, event_id: str) -> str | None:
        version = self.store.latest_skymap(event_id, "combined")
        return version.observatory if version else None

    def status_report(self) -> StatusReport:
        """How the bot is doing: the stream, each topic, the outbox, the database (reached by a query)."""
        now = time.time()
        stream = self.stream_status()
        with self.store.session() as s:
            topics = builtins.list(s.scalars(select(TopicProgress).order_by(TopicProgress.topic)))
            count = select(func.count()).select_from(Delivery)
            pending = s.scalar(count.where(Delivery.status.in_(("pending", "in_flight")))) or 0
            failed = s.scalar(count.where(Delivery.status == "failed")) or 0
            s.execute(text("SELECT 1"))
        return StatusReport(
            connected=bool(stream.get("connected")), url=stream.get("url"), group_id=stream.get("group_id"),
            problem=stream.get("problem"), database=self.store.engine.dialect.name,
            database_ok=bool(stream.get("database_ok", True)), pending=pending, failed=failed,
            stalled_s=stream.get("outbox_stalled_s"), uptime_s=now - self.started, version=__version__,
            topics=_topic_lines(topics, now), slack_calls=tuple(self.slack_calls()))
