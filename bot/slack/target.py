"""Where deliveries go: Slack's Web API, or files on disk when there is no workspace (dry run).

Both implement :class:`SlackTarget`. Failures are sorted into
:class:`RetryLater` (429 with its Retry-After, 5xx, timeouts, connection
errors, a proxy's HTML page, the token refused for a while: nothing said about
the message itself) and :class:`SlackRejected` (Slack rejected this message:
retrying will not help). A timeout or dropped connection after the request was
sent is an unknown outcome (``maybe_sent``): the outbox looks the message up
before sending it again. The bot token is sent to Slack's API and file host only.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.delivery.errors import Rejected, RetryLater
from bot.slack.budget import CallMeter

log = logging.getLogger(__name__)

CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{6,}$")
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9_-]{1,80}$")
MAX_NAME_TRIES = 20

#: Slack's own verdicts on a message or call: retrying the same call cannot succeed.
VERDICTS = {
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text", "too_many_attachments",
    "invalid_attachments", "invalid_arguments", "invalid_arg_name", "invalid_metadata_format",
    "invalid_metadata_schema", "metadata_too_large", "channel_not_found", "is_archived", "not_in_channel",
    "thread_not_found", "message_not_found", "cant_update_message", "edit_window_closed", "too_long", "name_taken",
    "invalid_name", "invalid_name_required", "invalid_name_punctuation", "invalid_name_maxlength",
    "invalid_name_specials", "user_not_found", "no_user", "cant_invite", "cant_invite_self", "already_in_channel",
    "method_not_supported_for_channel_type", "restricted_action", "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel", "file_not_found",
    "file_upload_size_mismatch", "invalid_trigger_id", "expired_trigger_id", "cannot_reply_to_message",
}
#: Not about the message: the workspace, token or app setup. Kept pending, and the ops channel is told.
SETUP_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope",
                "no_permission", "team_access_not_granted", "org_login_required", "ekm_access_denied",
                "not_allowed_token_type", "app_missing_action_url"}


class SlackRejected(Rejected):
    """Slack's verdict on a message (``invalid_blocks``, ``msg_too_long``, …): it fails, the lane goes on."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def retry_after_s(value: str | None, now: float | None = None) -> float:
    """A Retry-After header in seconds: a number, or an HTTP date (RFC 9110 allows both)."""
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return 5.0
    return max(0.0, when - (time.time() if now is None else now))


def classify(error: str) -> Exception:
    """Slack's ``error`` code as the exception the outbox acts on."""
    if error in VERDICTS:
        return SlackRejected(error)
    if error in SETUP_ERRORS:
        return RetryLater(f"Slack refused the bot's token or setup ({error})", tell_ops=(
            "Slack refuses the bot's token or app setup",
            f"Slack refused the bot's token or setup ({error}). Deliveries stay queued until this is fixed: check "
            "SLACK_BOT_TOKEN and the app's scopes (app-manifest.yml), then reinstall the app."))
    if error.startswith("Received a response in a non-JSON format"):
        return RetryLater("Slack (or a proxy in front of it) answered with a page, not JSON", maybe_sent=True)
    return RetryLater(f"unexpected Slack error {error[:200]}", maybe_sent=True, unexpected=True)


def channel_name_for(event_id: str, prefix: str) -> str:
    """Slack channel names: lowercase letters, digits, '-' and '_', at most 80 characters."""
    name = re.sub(r"[^a-z0-9_-]", "-", (prefix + event_id).lower())
    return name[:80]


class SlackTarget(Protocol):
    def resolve_channel(self, name_or_id: str) -> str: ...
    def create_channel(self, name: str) -> tuple[str, str]: ...
    def invite(self, channel_id: str, users: list[str]) -> None: ...
    def set_topic(self, channel_id: str, topic: str) -> None: ...
    def post(self, channel_id: str, text: str, blocks: list, thread_ts: str | None,
             broadcast: bool, delivery_id: int) -> str: ...
    def update(self, channel_id: str, ts: str, text: str, blocks: list) -> None: ...
    def upload(self, channel_id: str, data: bytes, filename: str, title: str, thread_ts: str | None,
               on_file_id: Callable[[str], None] = lambda _id: None) -> str: ...
    def find_post(self, channel_id: str, delivery_id: int, oldest: float) -> str | None: ...
    def find_upload(self, channel_id: str, file_id: str) -> bool: ...


def target_for(settings) -> SlackTarget:
    """Slack's Web API with a bot token (and not a dry run), else files in GWBOT_OUTPUT_DIR."""
    if settings.posts_to_slack and settings.slack.bot_token:
        return WebAPI(settings.slack.bot_token, settings.slack.api_url)
    return DryRun(settings.output_dir)


def group_members_for(settings) -> Callable[[str], set[str]] | None:
    """A Slack user group's members (approvers may be given as a group), when the bot talks to a workspace."""
    if not (settings.posts_to_slack and settings.slack.bot_token):
        return None
    client = WebClient(token=settings.slack.bot_token, base_url=settings.slack.api_url)
    return lambda group: set(client.usergroups_users_list(usergroup=group).get("users", []))


class WebAPI:
    """Slack's Web API through slack_sdk, at a configurable base URL (SLACK_API_URL).

    slack_sdk's own retries are off: a retried chat.postMessage after a dropped connection could post twice;
    the outbox retries, after looking the message up.
    """

    def __init__(self, token: str, base_url: str, timeout: float = 10.0) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=int(max(timeout, 1)), retry_handlers=[])
        self.timeout = timeout
        self._joined: set[str] = set()
        self.meter = CallMeter()

    def _call(self, method: str, **kwargs: Any) -> dict:
        self.meter.count(method)
        try:
            return getattr(self.client, method)(**kwargs).data
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
                raise RetryLater("rate limited (429)", retry_after_s(after)) from None
            if status >= 500:
                raise RetryLater(f"Slack server error {status}", maybe_sent=True) from None
            data = exc.response.data
            raise classify(str(data.get("error") if isinstance(data, dict) else status)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException,
                SlackClientError) as exc:
            raise RetryLater(f"cannot reach Slack ({type(exc).__name__}: {exc})", maybe_sent=True) from None

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

    def create_channel(self, name: str) -> tuple[str, str]:
        """(id, name) of the event's channel: ``name``, or the next free ``name-1``, ``name-2``… when the name is
        held by an archived channel or one the bot cannot join (bot tokens cannot unarchive)."""
        for attempt in range(MAX_NAME_TRIES):
            suffix = f"-{attempt}" if attempt else ""
            candidate = name[:80 - len(suffix)] + suffix
            try:
                return self._call("conversations_create", name=candidate, is_private=False)["channel"]["id"], candidate
            except SlackRejected as exc:
                if exc.error != "name_taken":
                    raise
            channel = self._find_by_name(candidate)
            if channel is None or channel.get("is_archived") or channel.get("is_private"):
                continue
            try:
                self._join(channel["id"])
            except SlackRejected:
                continue
            return channel["id"], candidate
        raise SlackRejected(f"name_taken: #{name} and {MAX_NAME_TRIES - 1} numbered names after it are all taken")

    def _join(self, channel_id: str) -> None:
        if channel_id in self._joined:
            return
        try:
            self._call("conversations_join", channel=channel_id)
        except SlackRejected as exc:
            if exc.error not in ("already_in_channel", "method_not_supported_for_channel_type"):
                raise
        self._joined.add(channel_id)

    def _in_channel(self, channel_id: str, method: str, /, join_first: bool = True, **kwargs: Any) -> dict:
        """A call into a channel: join first (public channels) when it needs membership, and join and try once
        more on not_in_channel."""
        if join_first and not channel_id.startswith("D"):
            self._join(channel_id)
        try:
            return self._call(method, **kwargs)
        except SlackRejected as exc:
            if exc.error != "not_in_channel":
                raise
        self._joined.discard(channel_id)
        self._join(channel_id)
        return self._call(method, **kwargs)

    def invite(self, channel_id: str, users: list[str]) -> None:
        """Invite with force=true: one user who cannot be invited does not stop the others."""
        if not users:
            return
        try:
            answer = self._call("conversations_invite", channel=channel_id, users=",".join(users), force=True)
        except SlackRejected as exc:
            if exc.error not in ("already_in_channel", "cant_invite_self", "user_not_found", "cant_invite"):
                raise
            log.warning("invite to %s: %s", channel_id, exc.error, extra={"users": users})
            return
        for problem in answer.get("errors") or []:
            log.warning("could not invite %s to %s: %s", problem.get("user"), channel_id, problem.get("error"))

    def set_topic(self, channel_id: str, topic: str) -> None:
        self._call("conversations_setTopic", channel=channel_id, topic=topic)

    def post(self, channel_id, text, blocks, thread_ts, broadcast, delivery_id) -> str:
        kwargs = dict(channel=channel_id, text=text, blocks=blocks or None, unfurl_links=False, unfurl_media=False,
                      metadata={"event_type": "gwbot_delivery", "event_payload": {"delivery_id": delivery_id}})
        if thread_ts:
            kwargs.update(thread_ts=thread_ts, reply_broadcast=broadcast)
        # chat:write.public posts without membership; a channel that still refuses is joined
        return self._in_channel(channel_id, "chat_postMessage", join_first=False, **kwargs)["ts"]

    def update(self, channel_id, ts, text, blocks) -> None:
        self._call("chat_update", channel=channel_id, ts=ts, text=text, blocks=blocks)

    def upload(self, channel_id, data, filename, title, thread_ts, on_file_id=lambda _id: None) -> str:
        """Slack's three-step upload (getUploadURLExternal, POST the bytes, completeUploadExternal), in the channel
        the bot has joined. ``on_file_id`` hears the file's id before it is shared, so an unknown outcome can be
        looked up (:meth:`find_upload`) instead of uploading twice."""
        self._join(channel_id)
        ticket = self._call("files_getUploadURLExternal", filename=filename, length=len(data))
        on_file_id(ticket["file_id"])
        request = urllib.request.Request(ticket["upload_url"], data=data, method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(request, timeout=max(self.timeout, 30)) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise RetryLater(f"file upload refused ({exc.code})") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise RetryLater(f"file upload failed ({type(exc).__name__})") from None
        kwargs: dict[str, Any] = {"files": [{"id": ticket["file_id"], "title": title}], "channel_id": channel_id}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        self._in_channel(channel_id, "files_completeUploadExternal", **kwargs)
        return ticket["file_id"]

    def find_upload(self, channel_id: str, file_id: str) -> bool:
        """Was this file already shared into the channel (an unknown outcome, or a crash, before we recorded it)?"""
        try:
            info = self._call("files_info", file=file_id)["file"]
        except SlackRejected:
            return False
        shares = info.get("shares") or {}
        places = set(info.get("channels") or []) | set(info.get("groups") or [])
        places |= set(shares.get("public") or {}) | set(shares.get("private") or {})
        return channel_id in places

    def find_post(self, channel_id, delivery_id, oldest) -> str | None:
        """Was this delivery already posted (crash or unknown outcome between Slack's answer and our commit)?"""
        page = self._in_channel(channel_id, "conversations_history", channel=channel_id, oldest=f"{oldest:.6f}",
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
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{channel.lstrip('#')}-{kind}")  # never a path from outside
        return self.dir / f"{self._count:05d}-{name}"

    def _say(self, line: str) -> None:
        if self.echo:
            print(line, flush=True)

    def resolve_channel(self, name_or_id: str) -> str:
        return name_or_id if name_or_id.startswith("#") or CHANNEL_ID_RE.match(name_or_id) else "#" + name_or_id

    def create_channel(self, name: str) -> tuple[str, str]:
        self._say(f"[dry run] create channel #{name}")
        return "#" + name, name

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

    def upload(self, channel_id, data, filename, title, thread_ts, on_file_id=lambda _id: None) -> str:
        path = self._next(channel_id, filename)
        path.write_bytes(data)
        self._say(f"[dry run] picture for {channel_id}" + (" (thread)" if thread_ts else "") + f" -> {path}")
        return path.name

    def find_post(self, channel_id, delivery_id, oldest) -> str | None:
        return None

    def find_upload(self, channel_id, file_id) -> bool:
        return False
