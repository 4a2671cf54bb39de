"""What the alert pipeline keeps: events, the messages handled, sky-map versions, summaries posted,
channel IDs and stream progress."""

from __future__ import annotations

import time

from sqlalchemy import JSON, Boolean, Float, Integer, LargeBinary, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base

__all__ = ["ChannelId", "Event", "Handled", "SkymapVersion", "SummaryPost", "TopicProgress", "latest_map_query",
           "map_filter"]


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
    verdicts: Mapped[list | None] = mapped_column(JSON)  # the follow-up verdicts on its latest map, per rule
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


class SummaryPost(Base):
    """A summary message in Slack, kept so a retraction can edit it."""

    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    blocks: Mapped[list] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(String(4000))


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


def map_filter(event_id: str, kind: str):
    which = SkymapVersion.kind == kind
    if kind == "gw":
        which = which | SkymapVersion.kind.is_(None)
    return (SkymapVersion.event_id == event_id) & which


def latest_map_query(event_id: str, kind: str = "gw"):
    """The newest map of an event by alert time (then arrival), of one kind (rows from before kinds are "gw")."""
    return (select(SkymapVersion).where(map_filter(event_id, kind))
            .order_by(func.coalesce(SkymapVersion.created, SkymapVersion.received).desc(), SkymapVersion.id.desc())
            .limit(1))
