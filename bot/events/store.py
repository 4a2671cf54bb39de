"""The bot's memory, through SQLAlchemy: SQLite by default, PostgreSQL by URL.

What is here survives a restart: which messages were handled (the
de-duplication key), each event's channel and thread, every sky map version,
and the outbox of Slack deliveries not yet made.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Event(Base):
    """A superevent (or other named event) the bot has posted about."""

    __tablename__ = "events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    is_mock: Mapped[bool] = mapped_column(Boolean, default=False)
    channel_name: Mapped[str | None] = mapped_column(String(80))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    wants_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    summary_channel: Mapped[str | None] = mapped_column(String(80))  # where its summaries go
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # first summary, parent of the thread
    last_alert_type: Mapped[str | None] = mapped_column(String(16))
    last_alert_time: Mapped[str | None] = mapped_column(String(40))
    facts: Mapped[dict] = mapped_column(JSON, default=dict)  # latest summary numbers
    summary: Mapped[dict | None] = mapped_column(JSON)  # latest summary message: {"text", "blocks"}
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[float] = mapped_column(Float, default=time.time)
    updated: Mapped[float] = mapped_column(Float, default=time.time)


class Handled(Base):
    """A message taken from the stream; its key makes handling idempotent."""

    __tablename__ = "handled"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str | None] = mapped_column(String(64), index=True)
    topic: Mapped[str | None] = mapped_column(String(200))
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16), default="text")  # text -> done
    received: Mapped[float] = mapped_column(Float, default=time.time)


class SkymapVersion(Base):
    """Each sky map an event has had. The commands use the latest by alert time (``created``), not arrival:
    an older alert arriving late does not replace a newer map. ``kind`` is "gw" (the event's localization) or
    "combined" (GW x external coincidence, which assumes the coincidence is real)."""

    __tablename__ = "skymaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    alert_key: Mapped[str] = mapped_column(String(200))
    alert_type: Mapped[str] = mapped_column(String(16))
    fits: Mapped[bytes] = mapped_column(LargeBinary)
    received: Mapped[float] = mapped_column(Float, default=time.time)
    kind: Mapped[str | None] = mapped_column(String(16), default="gw")
    created: Mapped[float | None] = mapped_column(Float)  # the alert's time_created (epoch seconds)
    observatory: Mapped[str | None] = mapped_column(String(40))  # of the coincidence, for combined maps


class Delivery(Base):
    """One Slack operation in the outbox. Processed in id order within its lane (channel)."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lane: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    file: Mapped[bytes | None] = mapped_column(LargeBinary)
    event_id: Mapped[str | None] = mapped_column(String(64))
    depends_on: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[float] = mapped_column(Float, default=0.0)
    started: Mapped[float | None] = mapped_column(Float)
    created: Mapped[float] = mapped_column(Float, default=time.time)
    done_at: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sender: Mapped[str | None] = mapped_column(String(32))  # the outbox (process) that has it in flight


class OutboxSender(Base):
    """A running outbox and when it last said it was alive: another replica takes over what a dead one had in
    flight (looked up first), never what a live one is still sending."""

    __tablename__ = "outbox_senders"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen: Mapped[float] = mapped_column(Float)


class Post(Base):
    """A summary message in Slack, kept so a retraction can edit it."""

    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    blocks: Mapped[list] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(String(4000))


class PlanRecord(Base):
    """An observation plan and its life: proposed -> approved -> submitted, or rejected/expired/superseded."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    skymap_version: Mapped[int | None] = mapped_column(Integer)
    facility: Mapped[str] = mapped_column(String(40))
    request: Mapped[dict] = mapped_column(JSON)  # the /gw plan arguments, for a re-plan
    summary: Mapped[dict] = mapped_column(JSON)  # PlanResult.to_dict()
    payload: Mapped[dict | None] = mapped_column(JSON)  # what approval submits
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created: Mapped[float] = mapped_column(Float, default=time.time)
    expires: Mapped[float] = mapped_column(Float)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(2000))
    group_id: Mapped[int | None] = mapped_column(Integer)
    group_url: Mapped[str | None] = mapped_column(String(300))  # the request group at the facility
    request_states: Mapped[dict] = mapped_column(JSON, default=dict)  # LCO request id -> last state told

    def view(self) -> dict[str, Any]:
        """The plan's columns as plain values, for the message builders."""
        return {c.name: getattr(self, c.name) for c in PlanRecord.__table__.columns}


class ChannelId(Base):
    """Configured channel names resolved to IDs."""

    __tablename__ = "channel_ids"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))


class TopicProgress(Base):
    """Last message seen per stream topic, for /gw status."""

    __tablename__ = "topic_progress"
    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_received: Mapped[float] = mapped_column(Float)
    last_offset: Mapped[int | None] = mapped_column(Integer)
    silent: Mapped[int | None] = mapped_column(Integer, default=0)  # old alerts stored without posting
    lag: Mapped[int | None] = mapped_column(Integer)  # broker topics: messages behind the end, at the last batch
    rate: Mapped[float | None] = mapped_column(Float)  # broker topics: messages per second over the last batch


class CandidateRecord(Base):
    """A broker candidate inside an event's region: one row per event and object, however many alerts or brokers
    report it (a second broker's object within 1.5 arcsec joins the first one's row, in ``aliases``)."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("event_id", "broker", "object_id"),
                      Index("ix_candidates_event_dec", "event_id", "dec"))  # same-source look-ups by position
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    broker: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(80))
    aliases: Mapped[list] = mapped_column(JSON, default=list)  # "broker:object id" of the same source elsewhere
    ra: Mapped[float] = mapped_column(Float)
    dec: Mapped[float] = mapped_column(Float)
    url: Mapped[str | None] = mapped_column(String(300))
    first_mjd: Mapped[float] = mapped_column(Float)  # first detection after the merger that we saw
    last_mjd: Mapped[float] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(8))
    mag: Mapped[float | None] = mapped_column(Float)
    reliability: Mapped[float | None] = mapped_column(Float)
    host_distance_mpc: Mapped[float | None] = mapped_column(Float)
    host_redshift: Mapped[float | None] = mapped_column(Float)
    map_version: Mapped[int] = mapped_column(Integer)  # the map the numbers below come from
    credible_level: Mapped[float] = mapped_column(Float)
    density_per_deg2: Mapped[float] = mapped_column(Float)
    distance_cl: Mapped[float | None] = mapped_column(Float)  # two-sided, at the host distance
    density_3d: Mapped[float | None] = mapped_column(Float)  # per Mpc^3, when a host distance exists
    inside: Mapped[bool] = mapped_column(Boolean, default=True)  # inside GWBOT_CANDIDATE_MAX_CL of that map
    digest: Mapped[int | None] = mapped_column(Integer)  # the delivery id of the digest that listed it
    created: Mapped[float] = mapped_column(Float, default=time.time)
    marked_by: Mapped[str | None] = mapped_column(String(32))  # who marked it for the team's HERMES report


class CandidateDetection(Base):
    """Each alert of a candidate (the key makes re-reading a batch after a crash harmless)."""

    __tablename__ = "candidate_detections"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # event:broker:alert id
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    mjd: Mapped[float] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(8))
    mag: Mapped[float | None] = mapped_column(Float)
    posted: Mapped[bool] = mapped_column(Boolean, default=False)


class CandidateStream(Base):
    """Per event: when its last digest went out, which map its candidates were last judged on, and whether the
    stream ended (retraction). Rows are claimed with conditional UPDATEs, so two workers never both post."""

    __tablename__ = "candidate_streams"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_digest: Mapped[float] = mapped_column(Float, default=0.0)
    map_version: Mapped[int | None] = mapped_column(Integer)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


class SharedPointing(Base):
    """One of our plan's fields in one band, as shared with Treasure Map. ``status`` is what Treasure Map should
    have, ``reported`` what it has acknowledged: the outbox's Treasure Map job sends the difference, so a retry
    or a restart sends nothing twice."""

    __tablename__ = "shared_pointings"
    __table_args__ = (UniqueConstraint("plan_id", "rank", "band"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    rank: Mapped[int] = mapped_column(Integer)  # the plan's field
    request_id: Mapped[str | None] = mapped_column(String(40))  # the facility's request for that field
    instrument_id: Mapped[int] = mapped_column(Integer)  # Treasure Map's
    ra: Mapped[float] = mapped_column(Float)
    dec: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(16))
    central_wave: Mapped[float | None] = mapped_column(Float)
    bandwidth: Mapped[float | None] = mapped_column(Float)
    depth: Mapped[float | None] = mapped_column(Float)  # AB mag
    depth_estimated: Mapped[bool] = mapped_column(Boolean, default=True)  # the instrument's typical depth
    planned_time: Mapped[float] = mapped_column(Float)  # the window start (epoch seconds)
    observed_time: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # planned / completed / cancelled
    reported: Mapped[str | None] = mapped_column(String(16))  # the status Treasure Map has
    tm_id: Mapped[int | None] = mapped_column(Integer)


class SeenPointing(Base):
    """A pointing Treasure Map holds for an event (anyone's, ours included), as last read."""

    __tablename__ = "seen_pointings"
    __table_args__ = (UniqueConstraint("event_id", "tm_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    tm_id: Mapped[int] = mapped_column(Integer)
    instrument_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    band: Mapped[str] = mapped_column(String(16))
    ra: Mapped[float] = mapped_column(Float)
    dec: Mapped[float] = mapped_column(Float)
    pos_angle: Mapped[float | None] = mapped_column(Float)
    time: Mapped[float] = mapped_column(Float)
    depth: Mapped[float | None] = mapped_column(Float)
    depth_unit: Mapped[str | None] = mapped_column(String(16))


class CoverageRead(Base):
    """When an event's pointings were last read from Treasure Map (``read_at``: successfully), and on which map."""

    __tablename__ = "coverage_reads"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[float | None] = mapped_column(Float)
    tried_at: Mapped[float] = mapped_column(Float)
    map_version: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str | None] = mapped_column(String(500))


class Footprint(Base):
    """An instrument's footprint from Treasure Map (CCD polygons about the centre), kept for a week."""

    __tablename__ = "footprints"
    instrument_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(120))
    polygons: Mapped[list] = mapped_column(JSON)
    fetched: Mapped[float] = mapped_column(Float)


class HermesReport(Base):
    """A HERMES report prepared from a plan: the message, HERMES's verdict on it, and whether it was published
    (``status`` prepared -> publishing -> published, or failed; the claim is one conditional UPDATE)."""

    __tablename__ = "hermes_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[dict] = mapped_column(JSON)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # HERMES's validation errors, in words
    valid: Mapped[bool] = mapped_column(Boolean, default=False)  # HERMES checked it and found nothing wrong
    preload_key: Mapped[str | None] = mapped_column(String(64))  # opens it pre-filled in HERMES (15 min)
    status: Mapped[str] = mapped_column(String(16), default="prepared")
    prepared_by: Mapped[str | None] = mapped_column(String(32))
    published_by: Mapped[str | None] = mapped_column(String(32))
    uuid: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    created: Mapped[float] = mapped_column(Float, default=time.time)


class HermesSeen(Base):
    """A HERMES message about an event that the bot has posted (or published itself)."""

    __tablename__ = "hermes_seen"
    uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    seen_at: Mapped[float] = mapped_column(Float, default=time.time)


class Store:
    """A database handle; each unit of work runs in :meth:`session` as one transaction."""

    def __init__(self, url: str) -> None:
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _add_missing_columns(self) -> None:
        """A database made by an older gwbot gets the (nullable) columns added since."""
        inspector = inspect(self.engine)
        with self.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                have = {c["name"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name not in have:
                        kind = column.type.compile(dialect=self.engine.dialect)
                        conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    def latest_skymap(self, event_id: str, kind: str = "gw") -> SkymapVersion | None:
        with self.session() as s:
            return s.scalars(latest_map_query(event_id, kind)).first()

    def prune(self, older_than: float) -> tuple[int, int]:
        """Delete map versions received before ``older_than`` (the latest of each event and kind stays) and
        finished deliveries; returns how many of each."""
        with self.session() as s:
            maps = 0
            pairs = {(e, k or "gw") for e, k in s.execute(select(SkymapVersion.event_id, SkymapVersion.kind))}
            for event_id, kind in sorted(pairs):
                keep = s.scalar(latest_map_query(event_id, kind).with_only_columns(SkymapVersion.id))
                maps += rows_changed(s.execute(delete(SkymapVersion).where(
                    _map_filter(event_id, kind), SkymapVersion.id != keep, SkymapVersion.received < older_than)))
            old = select(Delivery.id).where(Delivery.status.in_(("done", "failed")), Delivery.done_at < older_than)
            s.execute(update(Delivery).where(Delivery.depends_on.in_(old)).values(depends_on=None))
            deliveries = rows_changed(s.execute(delete(Delivery).where(Delivery.id.in_(old.scalar_subquery()))))
        return maps, deliveries

    def close(self) -> None:
        self.engine.dispose()


def rows_changed(result: Any) -> int:
    """How many rows an UPDATE changed (its rowcount): a conditional UPDATE that changed one row won the race."""
    return cast(CursorResult, result).rowcount


def _map_filter(event_id: str, kind: str):
    which = SkymapVersion.kind == kind
    if kind == "gw":
        which = which | SkymapVersion.kind.is_(None)
    return (SkymapVersion.event_id == event_id) & which


def latest_map_query(event_id: str, kind: str = "gw"):
    """The newest map of an event by alert time (then arrival), of one kind (rows from before kinds are "gw")."""
    return (select(SkymapVersion).where(_map_filter(event_id, kind))
            .order_by(func.coalesce(SkymapVersion.created, SkymapVersion.received).desc(), SkymapVersion.id.desc())
            .limit(1))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
