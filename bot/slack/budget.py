"""Slack's rate limits as a budget: every Web API call the bot makes is counted per method over the last minute
and shown in ``/gw status`` beside the method's published tier.

The tiers are Slack's (https://api.slack.com/apis/rate-limits and each method's page): Tier 2 is 20+ calls a
minute, Tier 3 50+, Tier 4 100+; chat.postMessage is "special": about one message a second per channel, with a
workspace-wide limit above that. Limits apply per method, per workspace, per app; this meter counts one
process's calls (each replica its own).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TIERS", "CallMeter", "MethodRate"]

WINDOW_S = 60.0

#: method -> (tier, calls a minute that the tier promises)
TIERS: dict[str, tuple[str, int]] = {
    "chat.postMessage": ("special: ~1/s per channel", 60),
    "chat.update": ("Tier 3", 50),
    "conversations.create": ("Tier 2", 20),
    "conversations.invite": ("Tier 3", 50),
    "conversations.join": ("Tier 3", 50),
    "conversations.list": ("Tier 2", 20),
    "conversations.info": ("Tier 3", 50),
    "conversations.history": ("Tier 3", 50),
    "conversations.setTopic": ("Tier 2", 20),
    "files.getUploadURLExternal": ("Tier 4", 100),
    "files.completeUploadExternal": ("Tier 4", 100),
    "files.info": ("Tier 4", 100),
    "usergroups.users.list": ("Tier 2", 20),
}


@dataclass(frozen=True)
class MethodRate:
    method: str
    last_minute: int
    tier: str
    budget: int | None  # calls a minute the tier allows (None: not listed)


class CallMeter:
    """Calls per method in a sliding minute; safe to use from every thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def count(self, method: str) -> None:
        """One call of ``method`` (slack_sdk's ``chat_postMessage`` or Slack's ``chat.postMessage``)."""
        name = method.replace("_", ".")
        now = self.clock()
        with self._lock:
            calls = self._calls.setdefault(name, deque())
            calls.append(now)
            self._trim(calls, now)

    def rates(self) -> list[MethodRate]:
        """Each method called in the last minute, busiest first against its budget."""
        now = self.clock()
        with self._lock:
            counts = {}
            for method, calls in self._calls.items():
                self._trim(calls, now)
                if calls:
                    counts[method] = len(calls)
        rates = [MethodRate(m, n, *TIERS.get(m, ("not listed", None))) for m, n in counts.items()]
        return sorted(rates, key=lambda r: (-(r.last_minute / r.budget if r.budget else 0), r.method))

    @staticmethod
    def _trim(calls: deque[float], now: float) -> None:
        while calls and calls[0] <= now - WINDOW_S:
            calls.popleft()
