"""Block Kit pieces every message uses: Slack's limits, escaping (text from the streams and from people is data,
never markup: ``<!channel>`` inside it pings no one), links only from URLs that pass a check, sections and headers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot import formatting as fmt

__all__ = ["BLOCKS_MAX", "Blocks", "EVENT_LINK", "FIELDS_MAX", "FIELD_MAX", "HEADER_MAX", "SECTION_MAX", "TOPIC_MAX",
           "ago", "channel_link", "clip", "context", "escape", "fields_section", "fill_event_link",
           "header", "limit_blocks", "link", "percent_list", "section", "utc"]



HEADER_MAX = 150


SECTION_MAX = 3000


FIELD_MAX = 2000


FIELDS_MAX = 10


BLOCKS_MAX = 50


TOPIC_MAX = 250


Blocks = list[dict[str, Any]]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")


def escape(text: Any) -> str:
    """Outside text for mrkdwn: &, < and > as entities (Slack's own rule), so it cannot mention or link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """A mrkdwn link when the URL is a plain http(s) URL; otherwise the label alone (escaped)."""
    if url and _SAFE_URL.match(url):
        return f"<{url.replace('&', '&amp;')}|{escape(label)}>"
    return escape(label)


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True}}


def section(text: str, fields: list[str] | None = None) -> dict:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:FIELDS_MAX]]
    return block


def fields_section(fields: list[str]) -> dict:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, FIELD_MAX)} for f in fields[:FIELDS_MAX]]}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_MAX)}]}


def limit_blocks(blocks: Blocks) -> Blocks:
    return blocks[:BLOCKS_MAX]


def channel_link(channel_id: str | None, channel_name: str | None) -> str | None:
    if channel_id and channel_id.startswith("#"):  # dry run: no workspace, no IDs
        return channel_id
    if channel_id:
        return f"<#{channel_id}>"
    return f"#{channel_name}" if channel_name else None


def percent_list(values: dict[str, float]) -> str:
    ordered = sorted(values.items(), key=lambda kv: kv[1], reverse=True)
    return " · ".join(f"{escape(name)} {100 * p:.0f}%" if p >= 0.005 or p == 0 else f"{escape(name)} &lt;1%"
                      for name, p in ordered)


EVENT_LINK = "{event_channel}"  # where a summary names the event's channel: filled in when it is sent


def fill_event_link(blocks: Blocks, channel_id: str | None, channel_name: str | None) -> Blocks:
    """The blocks with the event channel's link in place of :data:`EVENT_LINK`."""
    flat = json.dumps(blocks)
    if EVENT_LINK not in flat:
        return blocks
    return json.loads(flat.replace(EVENT_LINK, channel_link(channel_id, channel_name) or "(no event channel)"))


def ago(seconds: float) -> str:
    now = datetime.now(UTC)
    return fmt.time_since(datetime.fromtimestamp(now.timestamp() - seconds, UTC), now)


def utc(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else ""
