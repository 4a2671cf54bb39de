"""The events candidates are matched against: not retracted, with a GW map, merger within the window. Read from
the store (every few seconds), so workers on other machines learn about new map versions and retractions there."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bot.brokers.record import unix_to_mjd
from bot.delivery.actions import Channel, Thread
from bot.events.facts import EventFacts
from bot.events.maps import MapCache
from bot.ingest.gwalert import epoch
from bot.store import Store
from bot.store.events import Event

from .match import Target

__all__ = ["ActiveEvents", "Where", "where_to_post"]

REFRESH_S = 5.0


@dataclass(frozen=True)
class Where:
    channel: Channel
    thread: Thread | None


def where_to_post(event: Event) -> Where | None:
    """The event's own channel when it has (or is getting) one; else its thread in the summary channel."""
    if event.channel_id or event.wants_channel:
        return Where(Channel(event=event.event_id), None)
    if event.summary_channel:
        return Where(Channel(name=event.summary_channel), Thread(event=True))
    return None


def merger_mjd(event: Event) -> float | None:
    seconds = epoch(EventFacts.from_json(event.facts).event_time)
    return unix_to_mjd(seconds) if seconds is not None else None


class ActiveEvents:
    """The current targets, re-read from the store at most every ``REFRESH_S`` seconds."""

    def __init__(self, store: Store, maps: MapCache, window_days: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.maps = maps
        self.window_days = window_days
        self.clock = clock
        self._targets: list[Target] = []
        self._read_at = -REFRESH_S

    def targets(self, force: bool = False) -> list[Target]:
        now = self.clock()
        if force or now - self._read_at >= REFRESH_S:
            self._targets = self._read(now)
            self._read_at = now
        return self._targets

    def _read(self, now: float) -> list[Target]:
        oldest = unix_to_mjd(now) - self.window_days
        with self.store.session() as s:
            events = [(e.event_id, merger_mjd(e)) for e in s.scalars(select(Event).where(Event.retracted.is_(False)))]
        out = []
        for event_id, merger in events:
            if merger is None or merger < oldest:
                continue
            latest = self.maps.latest(event_id)
            if latest is not None:
                out.append(Target(event_id, latest[0], latest[1], merger))
        return out
