"""What /gw list and /gw status report, as plain records (worded for Slack in :mod:`bot.slack.blocks`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.candidates.match import DISTANCE_OUTLIER_CL
from bot.commands.check import CheckResult
from bot.config import FollowupRule
from bot.events.facts import EventFacts
from bot.plans.verdict import Verdict
from bot.slack.budget import MethodRate
from bot.vetting import Evidence, Status

__all__ = ["CandidateLine", "CircularView", "CoverageView", "EventLine", "HermesNote", "ReportView", "Scan",
           "StatusReport", "TopicLine"]


@dataclass(frozen=True)
class EventLine:
    """One event, as /gw list shows it."""

    event_id: str
    is_mock: bool
    retracted: bool
    last_alert_type: str | None
    facts: EventFacts
    age_s: float  # since its last alert
    channel_id: str | None


@dataclass(frozen=True)
class TopicLine:
    topic: str
    age_s: float  # since its last message
    offset: int | None
    silent: int  # messages older than GWBOT_POST_MAX_AGE stored without posting
    lag: int | None = None  # broker topics: messages not yet read, summed over partitions
    rate: float | None = None  # broker topics: messages per second (all partitions, recent)


@dataclass(frozen=True)
class StatusReport:
    connected: bool
    url: str | None
    group_id: str | None
    problem: str | None  # why the stream cannot be read, in words
    topics: list[TopicLine]
    pending: int
    failed: int
    stalled_s: float | None
    database: str
    database_ok: bool
    uptime_s: float
    version: str
    slack_calls: tuple[MethodRate, ...] = ()  # this process's Web API calls in the last minute, per method


@dataclass(frozen=True)
class CandidateLine:
    """A broker candidate of an event, as the digest and ``/gw candidates`` show it."""

    event_id: str
    broker: str
    object_id: str
    url: str | None
    ra_deg: float
    dec_deg: float
    credible_level: float
    density_per_deg2: float
    density_3d: float | None
    distance_cl: float | None
    host_distance_mpc: float | None
    days_after_merger: float | None  # of its first detection after the merger
    last_mjd: float
    mag: float | None
    band: str | None
    reliability: float | None
    inside: bool
    detections: int
    aliases: tuple[str, ...] = ()
    kn_score: float | None = None
    status: Status = Status.NEW
    status_by: str | None = None
    status_reason: str | None = None
    status_at: float | None = None
    candidate_id: int | None = None

    @property
    def distance_outlier(self) -> bool:
        return self.distance_cl is not None and self.distance_cl > DISTANCE_OUTLIER_CL

    def rank_key(self) -> tuple[float, float, float]:
        """Best first: by kilonova score, then by 3D density where a host distance gives one (distance outliers
        last), else 2D density."""
        score = -(self.kn_score or 0.0)
        outlier = self.distance_outlier
        if self.density_3d is not None and not outlier:
            return (score, 0.0, -self.density_3d)
        return (score, 2.0 if outlier else 1.0, -self.density_per_deg2)


@dataclass(frozen=True)
class CoverageView:
    """What /gw coverage reports: who pointed where (from Treasure Map), and how much probability that holds."""

    event_id: str
    read_at: float | None  # when Treasure Map was last read
    problem: str | None  # why the last read failed
    counted: int  # pointings after the merger that meet the map
    ours: int
    instruments: dict[str, int]  # instrument -> pointings
    by_family: dict[str, tuple[float, float]]  # band family -> (completed, planned-only) probability


@dataclass(frozen=True)
class ReportView:
    """A prepared HERMES report, as its message in the plan's thread shows it."""

    id: int
    event_id: str
    title: str
    topic: str
    fields: int  # observed fields reported
    targets: tuple[str, ...]  # marked candidates
    errors: tuple[str, ...]  # HERMES's objections, in words
    note: str | None
    status: str  # prepared / publishing / published / failed
    uuid: str | None
    edit_url: str | None  # HERMES's form, pre-filled
    message_url: str | None  # the published message
    can_publish: bool
    published_by: str | None


@dataclass(frozen=True)
class HermesNote:
    """Someone's HERMES message about an event, posted in its channel."""

    title: str
    authors: str
    text: str
    topic: str
    url: str


#: a check answers with at most this many candidates in words; more come as a CSV file beside
SHOWN_CANDIDATES = 20


@dataclass(frozen=True)
class Picture:
    """A file to share: a PNG, or a CSV of results."""

    filename: str
    data: bytes
    title: str


@dataclass(frozen=True)
class StoredSummary:
    """An event's latest summary as it was posted (its message is kept), for ``/gw info``."""

    event_id: str
    text: str | None  # None: the event has no summary (retracted before one was posted)
    blocks: list
    retracted: bool
    channel_id: str | None
    channel_name: str | None


@dataclass(frozen=True)
class CheckAnswer:
    result: CheckResult
    csv: Picture | None  # every candidate's numbers, when there are more than SHOWN_CANDIDATES


@dataclass(frozen=True)
class CoverageAnswer:
    view: CoverageView
    picture: Picture


@dataclass(frozen=True)
class CandidateList:
    """``/gw candidates``: the event's candidates that pass the query, best first, and how many to show."""

    event_id: str
    lines: list[CandidateLine]
    shown: int


@dataclass(frozen=True)
class RulesView:
    """``/gw rules``: the follow-up rules in force, and the verdicts of an event's latest map when one is named."""

    rules: tuple[FollowupRule, ...]
    event_id: str | None
    verdicts: tuple[Verdict, ...]


class MarkOutcome(StrEnum):
    MARKED = "marked"
    ALREADY = "already"  # someone marked it before
    GONE = "gone"  # no longer a candidate of the event


@dataclass(frozen=True)
class Marked:
    outcome: MarkOutcome
    event_id: str
    object_id: str
    by: str | None = None


@dataclass(frozen=True)
class Scan:
    """``/gw candidates S... --summary``: how many candidates, how many vetted and by whom, the interesting ones
    with their evidence."""

    event_id: str
    total: int
    vetted: int
    by_status: dict[str, int]
    by_user: dict[str, int]
    chosen: list[tuple[CandidateLine, Evidence]]  # interesting or follow up, best first


@dataclass(frozen=True)
class CircularView:
    """A GCN Circular draft, as its messages in the thread show it."""

    circular_id: int
    event_id: str
    subject: str
    lines: int
    version: int
    status: str  # draft, sending, sent
    drafted_by: str | None
    edited_by: str | None
    can_send: bool  # HERMES is set up
    hermes_uuid: str | None
    gcn_id: str | None
    problem: str | None  # why the last send was refused
    hermes_url: str | None
    gcn_submit_url: str
