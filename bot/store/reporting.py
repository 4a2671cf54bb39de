"""GCN Circular drafts: each version's text, who drafted and edited it, and whether it was sent."""

from __future__ import annotations

import time

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base

__all__ = ['CircularRecord']


class CircularRecord(Base):
    """A circular drafted for an event: the current subject and body (``version`` counts the edits), and its
    sending (``status`` draft -> sending -> sent; a refusal puts it back to draft with the ``problem``; the claim
    is one conditional UPDATE, so a second Send does nothing)."""

    __tablename__ = "circulars"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    table_csv: Mapped[str | None] = mapped_column(Text)  # the whole candidates table when the body summarises it
    version: Mapped[int] = mapped_column(Integer, default=1)
    drafted_by: Mapped[str | None] = mapped_column(String(32))
    drafted_at: Mapped[float] = mapped_column(Float, default=time.time)
    edited_by: Mapped[str | None] = mapped_column(String(32))
    edited_at: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    sent_by: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[float | None] = mapped_column(Float)
    hermes_uuid: Mapped[str | None] = mapped_column(String(64))
    gcn_id: Mapped[str | None] = mapped_column(String(40))  # the GCN circular number, when HERMES returned it
    problem: Mapped[str | None] = mapped_column(String(1000))  # why the last send was refused, in words
    place: Mapped[dict] = mapped_column(JSON)  # where its thread is: {"channel": {...}, "thread": {...}}
