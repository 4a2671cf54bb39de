"""What /gw list and /gw status report, as plain records (worded for Slack in :mod:`bot.slack.blocks`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events.facts import EventFacts

__all__ = ["EventLine", "StatusReport", "TopicLine"]


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
