"""What is shared with and read from the community: Treasure Map pointings (ours and others'),
instrument footprints, HERMES reports."""

from __future__ import annotations

import time

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base

__all__ = ['CoverageRead', 'Footprint', 'HermesReport', 'HermesSeen', 'SeenPointing', 'SharedPointing']


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
