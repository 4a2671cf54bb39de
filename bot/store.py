"""The bot's memory, through SQLAlchemy: SQLite by default, PostgreSQL by URL.

What is here survives a restart: which messages were handled (the
de-duplication key), each event's channel and thread, every sky map version,
and the outbox of Slack deliveries not yet made.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
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
    """Each sky map an event has had, newest last (the commands use the latest)."""

    __tablename__ = "skymaps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    alert_key: Mapped[str] = mapped_column(String(200))
    alert_type: Mapped[str] = mapped_column(String(16))
    fits: Mapped[bytes] = mapped_column(LargeBinary)
    received: Mapped[float] = mapped_column(Float, default=time.time)


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
    request_states: Mapped[dict] = mapped_column(JSON, default=dict)  # LCO request id -> last state told


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
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    def latest_skymap(self, event_id: str) -> SkymapVersion | None:
        with self.session() as s:
            return s.scalars(select(SkymapVersion).where(SkymapVersion.event_id == event_id)
                             .order_by(SkymapVersion.id.desc()).limit(1)).first()

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
