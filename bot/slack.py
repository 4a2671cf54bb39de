"""Where deliveries go: Slack's Web API, or files on disk when there is no workspace (dry run).

Both implement :class:`SlackTarget`. Failures are sorted into
:class:`RetryLater` (429 with its Retry-After, 5xx, timeouts, connection
errors) and :class:`SlackRejected` (Slack said no; retrying will not help).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
from pathlib import Path
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{6,}$")
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9_-]{1,80}$")


class RetryLater(Exception):
    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class SlackRejected(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def channel_name_for(event_id: str, prefix: str) -> str:
    """Slack channel names: lowercase letters, digits, '-' and '_', at most 80 characters."""
    name = re.sub(r"[^a-z0-9_-]", "-", (prefix + event_id).lower())
    return name[:80]


class SlackTarget(Protocol):
    def resolve_channel(self, name_or_id: str) -> str: ...
    def create_channel(self, name: str) -> str: ...
    def invite(self, channel_id: str, users: list[str]) -> None: ...
    def set_topic(self, channel_id: str, topic: str) -> None: ...
    def post(self, channel_id: str, text: str, blocks: list, thread_ts: str | None,
             broadcast: bool, delivery_id: int) -> str: ...
    def update(self, channel_id: str, ts: str, text: str, blocks: list) -> None: ...
    def upload(self, channel_id: str, data: bytes, filename: str, title: str, thread_ts: str | None) -> None: ...
    def find_post(self, channel_id: str, delivery_id: int, oldest: float) -> str | None: ...


class WebAPI:
    """Slack's Web API through slack_sdk, at a configurable base URL (SLACK_API_URL)."""

    def __init__(self, token: str, base_url: str, timeout: float = 10.0) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=int(max(timeout, 1)))

    def _call(self, method: str, **kwargs: Any) -> dict:
        try:
            return getattr(self.client, method)(**kwargs).data
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
                raise RetryLater("rate limited (429)", float(after) if after else 1.0) from None
            if status >= 500:
                raise RetryLater(f"Slack server error {status}") from None
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else str(status)
            raise SlackRejected(str(error)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, SlackClientError) as exc:
            raise RetryLater(f"cannot reach Slack ({type(exc).__name__}: {exc})") from None

    def resolve_channel(self, name_or_id: str) -> str:
        name = name_or_id.lstrip("#")
        if CHANNEL_ID_RE.match(name):
            return name
        found = self._find_by_name(name)
        if found is None:
            raise SlackRejected(f"channel_not_found: #{name}")
        return found["id"]

    def _find_by_name(self, name: str) -> dict | None:
        cursor = None
        while True:
            page = self._call("conversations_list", types="public_channel,private_channel",
                              exclude_archived=False, limit=1000, cursor=cursor)
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return channel
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def create_channel(self, name: str) -> str:
        try:
            return self._call("conversations_create", name=name, is_private=False)["channel"]["id"]
        except SlackRejected as exc:
            if exc.error != "name_taken":
                raise
        channel = self._find_by_name(name)
        if channel is None:
            raise SlackRejected(f"name_taken but #{name} is not visible to the bot")
        if channel.get("is_archived"):
            self._call("conversations_unarchive", channel=channel["id"])
            log.info("unarchived existing channel", extra={"channel": name})
        if not channel.get("is_member", True) or channel.get("is_archived"):
            self._join(channel["id"])
        return channel["id"]

    def _join(self, channel_id: str) -> None:
        try:
            self._call("conversations_join", channel=channel_id)
        except SlackRejected as exc:
            if exc.error not in ("already_in_channel", "method_not_supported_for_channel_type"):
                raise

    def invite(self, channel_id: str, users: list[str]) -> None:
        if not users:
            return
        try:
            self._call("conversations_invite", channel=channel_id, users=",".join(users))
        except SlackRejected as exc:
            if exc.error not in ("already_in_channel", "cant_invite_self"):
                raise

    def set_topic(self, channel_id: str, topic: str) -> None:
        self._call("conversations_setTopic", channel=channel_id, topic=topic)

    def post(self, channel_id, text, blocks, thread_ts, broadcast, delivery_id) -> str:
        kwargs = dict(channel=channel_id, text=text, blocks=blocks or None, unfurl_links=False, unfurl_media=False,
                      metadata={"event_type": "gwbot_delivery", "event_payload": {"delivery_id": delivery_id}})
        if thread_ts:
            kwargs.update(thread_ts=thread_ts, reply_broadcast=broadcast)
        try:
            return self._call("chat_postMessage", **kwargs)["ts"]
        except SlackRejected as exc:
            if exc.error != "not_in_channel":
                raise
        self._join(channel_id)
        return self._call("chat_postMessage", **kwargs)["ts"]

    def update(self, channel_id, ts, text, blocks) -> None:
        self._call("chat_update", channel=channel_id, ts=ts, text=text, blocks=blocks)

    def upload(self, channel_id, data, filename, title, thread_ts) -> None:
        kwargs = dict(channel=channel_id, file=data, filename=filename, title=title, request_file_info=False)
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        self._call("files_upload_v2", **kwargs)

    def find_post(self, channel_id, delivery_id, oldest) -> str | None:
        """Was this delivery already posted (crash between Slack's answer and our commit)?"""
        page = self._call("conversations_history", channel=channel_id, oldest=f"{oldest:.6f}",
                          include_all_metadata=True, limit=200)
        for message in page.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("delivery_id") == delivery_id:
                return message["ts"]
        return None


class DryRun:
    """No workspace: every message becomes Block Kit JSON (and PNG) in a folder, and readable text on stdout."""

    def __init__(self, output_dir: str | Path, echo: bool = True) -> None:
        self.dir = Path(output_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.echo = echo
        self._count = len(list(self.dir.glob("*.json")))
        self._ts = 1_700_000_000.0 + self._count

    def _next(self, channel: str, kind: str) -> Path:
        self._count += 1
        return self.dir / f"{self._count:05d}-{channel.lstrip('#')}-{kind}"

    def _say(self, line: str) -> None:
        if self.echo:
            print(line, flush=True)

    def resolve_channel(self, name_or_id: str) -> str:
        return name_or_id if name_or_id.startswith("#") or CHANNEL_ID_RE.match(name_or_id) else "#" + name_or_id

    def create_channel(self, name: str) -> str:
        self._say(f"[dry run] create channel #{name}")
        return "#" + name

    def invite(self, channel_id, users) -> None:
        if users:
            self._say(f"[dry run] invite {', '.join(users)} to {channel_id}")

    def set_topic(self, channel_id, topic) -> None:
        self._say(f"[dry run] topic of {channel_id}: {topic}")

    def post(self, channel_id, text, blocks, thread_ts, broadcast, delivery_id) -> str:
        self._ts += 1
        ts = f"{self._ts:.6f}"
        path = self._next(channel_id, "message.json")
        path.write_text(json.dumps({"channel": channel_id, "thread_ts": thread_ts, "ts": ts, "text": text,
                                    "blocks": blocks}, indent=1))
        where = f"{channel_id}" + (" (thread)" if thread_ts else "")
        self._say(f"[dry run] {where}: {text}\n           -> {path}")
        return ts

    def update(self, channel_id, ts, text, blocks) -> None:
        path = self._next(channel_id, "edit.json")
        path.write_text(json.dumps({"channel": channel_id, "ts": ts, "text": text, "blocks": blocks}, indent=1))
        self._say(f"[dry run] edit {channel_id} {ts}: {text}")

    def upload(self, channel_id, data, filename, title, thread_ts) -> None:
        path = self._next(channel_id, filename)
        path.write_bytes(data)
        self._say(f"[dry run] picture for {channel_id}" + (" (thread)" if thread_ts else "") + f" -> {path}")

    def find_post(self, channel_id, delivery_id, oldest) -> str | None:
        return None
