"""The outbox's rows: deliveries (to Slack and the other services) and the outboxes that send them."""

from __future__ import annotations

import time

from sqlalchemy import JSON, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base

__all__ = ['Delivery', 'OutboxSender']


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
    # an edit of a message: a newer delivery with the same key makes this one, still pending, pointless (dropped)
    supersede_key: Mapped[str | None] = mapped_column(String(120), index=True)


class OutboxSender(Base):
    """A running outbox and when it last said it was alive: another replica takes over what a dead one had in
    flight (looked up first), never what a live one is still sending."""

    __tablename__ = "outbox_senders"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen: Mapped[float] = mapped_column(Float)
