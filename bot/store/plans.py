"""Observation plans and their lives."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.base import Base

__all__ = ['PlanRecord']


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
    cancelled_by: Mapped[str | None] = mapped_column(String(32))  # who pressed Cancel (None: the retraction)
    cancelled_at: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str | None] = mapped_column(String(80))  # the [[auto_plans]] rule that proposed it

    def view(self) -> dict[str, Any]:
        """The plan's columns as plain values, for the message builders."""
        return {c.name: getattr(self, c.name) for c in PlanRecord.__table__.columns}
