"""An in-memory Slack target for unit tests of the outbox: it implements gwbot's own ``SlackTarget`` protocol
(bot/slack/target.py) and records every call. Behaviours it can be told to show follow Slack's Web API
contract as summarised in ../shared/notes/real-contracts.md: a timeout after the message was processed (an
unknown outcome, https://api.slack.com/docs/rate-limits and the notes' "Unknown outcomes"), 429 with
Retry-After (https://api.slack.com/docs/rate-limits), and rejections such as ``invalid_blocks``
(https://api.slack.com/methods/chat.postMessage#errors)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.slack.target import CHANNEL_ID_RE, RetryLater, SlackRejected


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list
    thread_ts: str | None = None
    delivery_id: int | None = None
    edits: int = 0


@dataclass
class MemoryTarget:
    channels: dict[str, str] = field(default_factory=dict)  # name -> id
    messages: list[Message] = field(default_factory=list)
    uploads: list[tuple[str, str, str | None]] = field(default_factory=list)  # (channel, filename, thread)
    topics: dict[str, str] = field(default_factory=dict)
    invites: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # channel names held by archived channels
    fail_next: list[Exception] = field(default_factory=list)  # raised by the next post calls, in order
    lost_answers: int = 0  # posts processed, then answered with a timeout (unknown outcome)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _call(self, name: str) -> None:
        self.calls.append(name)

    def resolve_channel(self, name_or_id: str) -> str:
        self._call("resolve_channel")
        if CHANNEL_ID_RE.match(name_or_id):
            return name_or_id
        return self.channels.setdefault(name_or_id.lstrip("#"), f"C{next(self._ids):06d}")

    def create_channel(self, name: str) -> tuple[str, str]:
        self._call("create_channel")
        candidate, n = name, 0
        while candidate in self.taken or candidate in self.channels:
            n += 1
            candidate = f"{name}-{n}"
        return self.resolve_channel(candidate), candidate

    def invite(self, channel_id: str, users: list[str]) -> None:
        self._call("invite")
        self.invites.append((channel_id, tuple(users)))

    def set_topic(self, channel_id: str, topic: str) -> None:
        self._call("set_topic")
        self.topics[channel_id] = topic

    def post(self, channel_id, text, blocks, thread_ts, broadcast, delivery_id) -> str:
        self._call("post")
        if self.fail_next:
            raise self.fail_next.pop(0)
        message = Message(channel_id, f"{1700000000 + next(self._ids)}.000100", text, blocks, thread_ts, delivery_id)
        self.messages.append(message)
        if self.lost_answers:
            self.lost_answers -= 1
            raise RetryLater("timed out after sending", maybe_sent=True)
        return message.ts

    def update(self, channel_id, ts, text, blocks) -> None:
        self._call("update")
        message = next((m for m in self.messages if m.ts == ts), None)
        if message is None:
            raise SlackRejected("message_not_found")
        message.text, message.blocks, message.edits = text, blocks, message.edits + 1

    def upload(self, channel_id, data, filename, title, thread_ts,
               on_file_id: Callable[[str], None] = lambda _id: None) -> str:
        self._call("upload")
        file_id = f"F{next(self._ids):06d}"
        on_file_id(file_id)
        self.uploads.append((channel_id, filename, thread_ts))
        return file_id

    def find_post(self, channel_id, delivery_id, oldest) -> str | None:
        self._call("find_post")
        return next((m.ts for m in self.messages if m.delivery_id == delivery_id and m.channel == channel_id), None)

    def find_upload(self, channel_id, file_id) -> bool:
        self._call("find_upload")
        return False

    def texts(self, channel_id: str | None = None) -> list[str]:
        return [m.text for m in self.messages if channel_id is None or m.channel == channel_id]
