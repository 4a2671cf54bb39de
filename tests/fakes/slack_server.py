"""A local Slack Web API server for the tests, following Slack's documented contract.

It checks what real Slack checks and answers as Slack does (HTTP 200 with
``{"ok": false, "error": ...}`` for API errors, 429 with Retry-After for rate
limits). Everything the bot did is recorded for assertions; it also serves
response URLs and shared files. The rules and their sources (facts collected
in ../shared/notes/real-contracts.md):

- Token: ``Authorization: Bearer``; wrong token -> ``invalid_auth``, none -> ``not_authed``
  (https://api.slack.com/web#authentication).
- Scopes: each method needs the scope its reference page names; a scope missing from
  ``app-manifest.yml`` -> ``missing_scope`` with ``needed`` (https://api.slack.com/scopes, each method's
  "Required scopes"; files.info and shared-file downloads need ``files:read``, history needs
  ``channels:history`` / ``groups:history``).
- Membership: chat.postMessage into a public channel works without membership only with
  ``chat:write.public``; files.completeUploadExternal into a channel and conversations.history need
  membership -> ``not_in_channel`` (slackapi/deno-slack-sdk#128, getnao/nao#1372).
- conversations.unarchive with a bot token -> ``not_allowed_token_type``: "Bot tokens (xoxb-...) cannot
  currently be used to unarchive conversations" (https://api.slack.com/methods/conversations.unarchive).
- conversations.invite with several users fails as a whole when one cannot be invited, unless
  ``force=true``: then the others are invited and the failures listed in ``errors``
  (https://api.slack.com/methods/conversations.invite, argument ``force``; slackapi/java-slack-sdk#1247).
- Channel names: lower-case letters, digits, ``-`` and ``_``, at most 80 characters
  (https://api.slack.com/methods/conversations.create).
- Block Kit limits: 50 blocks, header plain_text <= 150, section text <= 3,000, fields <= 10 of <= 2,000
  (https://api.slack.com/reference/block-kit/blocks).
- Files: the three-step external upload (files.getUploadURLExternal, POST, files.completeUploadExternal;
  https://api.slack.com/messaging/files#uploading_files); files.info shows the channels a file is shared in;
  private file URLs need the bot token as Bearer, else a redirect to a login page
  (https://api.slack.com/types/file#authentication).
- usergroups.users.list: ``{"ok": true, "users": [...]}`` for a user group ID (S…); an unknown one ->
  ``no_such_subteam`` (https://api.slack.com/methods/usergroups.users.list).
- Rate limits: about one message per second per channel, 429 with ``Retry-After``
  (https://api.slack.com/docs/rate-limits).

Faults can be injected (:meth:`outage`, :meth:`fault`): 5xx pages, answers delayed past the client's
timeout after the request was processed (an unknown outcome), dropped connections after processing, HTML
pages with status 200 (a proxy), and ``Retry-After`` given as an HTTP date.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9_-]+$")
MANIFEST = Path(__file__).parents[2] / "app-manifest.yml"

#: Bot scopes each method needs (each method's reference page at https://api.slack.com/methods).
SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",), "chat.update": ("chat:write",), "chat.postEphemeral": ("chat:write",),
    "conversations.create": ("channels:manage",), "conversations.join": ("channels:join",),
    "conversations.invite": ("channels:manage",), "conversations.setTopic": ("channels:manage",),
    "conversations.list": ("channels:read", "groups:read"), "conversations.history": ("channels:history",),
    "conversations.unarchive": ("channels:manage",), "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",), "files.info": ("files:read",),
    "usergroups.users.list": ("usergroups:read",), "views.open": (), "auth.test": (),
    "apps.connections.open": (),
}


def manifest_scopes(path: Path = MANIFEST) -> set[str]:
    """The bot scopes app-manifest.yml asks for (read as text: the list under oauth_config.scopes.bot)."""
    scopes, inside = set(), False
    for line in path.read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped.strip() == "bot:":
            inside = True
            continue
        if inside:
            if stripped.strip().startswith("- "):
                scopes.add(stripped.strip()[2:].strip())
            elif stripped.strip():
                break
    return scopes


@dataclass
class Channel:
    id: str
    name: str
    is_archived: bool = False
    members: set[str] = field(default_factory=set)
    topic: str = ""
    messages: list[dict] = field(default_factory=list)


class SlackError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        self.error = error
        self.extra = extra


def _check_blocks(blocks: Any) -> None:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not isinstance(blocks, list) or len(blocks) > 50:
        raise SlackError("invalid_blocks")
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text" or not 0 < len(text.get("text", "")) <= 150:
                raise SlackError("invalid_blocks")
        elif kind == "section":
            text = block.get("text")
            fields = block.get("fields")
            if text is None and not fields:
                raise SlackError("invalid_blocks")
            if text is not None and not 0 < len(text.get("text", "")) <= 3000:
                raise SlackError("invalid_blocks")
            if fields and (len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields)):
                raise SlackError("invalid_blocks")
        elif kind == "context":
            if not 0 < len(block.get("elements", [])) <= 10:
                raise SlackError("invalid_blocks")
        elif kind in ("actions", "divider", "image", "input"):
            if kind == "actions" and not 0 < len(block.get("elements", [])) <= 25:
                raise SlackError("invalid_blocks")
        else:
            raise SlackError("invalid_blocks")


class FakeSlack:
    """``with FakeSlack(token) as slack:`` then point SLACK_API_URL at ``slack.api_url``."""

    BOT_USER = "UBOT0001"

    def __init__(self, token: str = "xoxb-test-token", rate_per_second: float = 1.0, burst: int = 3,
                 users: tuple[str, ...] = ("U0000ALICE", "U0000BOB01"), app_token: str = "xapp-test-token") -> None:
        self.token = token
        self.app_token = app_token
        self.views: list[dict] = []
        self._triggers: dict[str, float] = {}
        self._ws_server = None
        self._sockets: list = []
        self._acks: dict[str, tuple[float, dict]] = {}
        self.rate = rate_per_second
        self.burst = burst
        self.users = set(users)
        self.usergroups: dict[str, list[str]] = {}  # user group ID -> members
        self.lock = threading.RLock()
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.responses: list[tuple[str, dict]] = []  # what was posted to response URLs
        self.response_times: dict[str, float] = {}  # time.time() each response URL was first hit
        self.rate_limited = 0
        self.scopes = manifest_scopes()
        self.faults: list[dict] = []  # injected by fault(): applied to matching calls, in order
        self.downloads: list[tuple[str, str | None]] = []  # (file id, Authorization header) of file fetches
        self._buckets: dict[str, tuple[float, float]] = {}
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._outage_until = 0.0
        self._outage_status = 503
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.api_url = self.url + "api/"
        self._thread: threading.Thread | None = None

    # --- test controls ----------------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._ws_server is not None:
            self._ws_server.shutdown()

    def new_trigger(self) -> str:
        """A trigger_id as Slack puts in interactive payloads (valid for 3 seconds)."""
        trigger = f"trig-{next(self._ids)}"
        self._triggers[trigger] = time.monotonic() + 3.0
        return trigger

    def add_file(self, name: str, data: bytes) -> dict:
        """A file a person shared: what a message event's ``files`` entry looks like."""
        with self.lock:
            file_id = f"F{next(self._ids):08d}"
            self.files[file_id] = {"length": len(data), "filename": name, "data": data, "shared": []}
            return {"id": file_id, "name": name, "size": len(data), "filetype": "csv",
                    "url_private": f"{self.url}files/{file_id}", "url_private_download": f"{self.url}files/{file_id}"}

    # --- Socket Mode ------------------------------------------------------------------------------

    def start_socket_mode(self) -> None:
        from websockets.sync.server import serve

        def session(ws) -> None:
            self._sockets.append(ws)
            ws.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}))
            try:
                for raw in ws:
                    ack = json.loads(raw)
                    if "envelope_id" in ack:
                        self._acks[ack["envelope_id"]] = (time.monotonic(), ack.get("payload") or {})
            except Exception:
                pass

        self._ws_server = serve(session, "127.0.0.1", 0)
        threading.Thread(target=self._ws_server.serve_forever, daemon=True).start()

    def send_envelope(self, kind: str, payload: dict, timeout: float = 3.0) -> tuple[float, dict]:
        """Deliver an envelope over the socket; returns (seconds until the bot acked, ack payload)."""
        deadline = time.monotonic() + 10
        while not self._sockets and time.monotonic() < deadline:
            time.sleep(0.05)
        envelope_id = f"env-{next(self._ids)}"
        sent = time.monotonic()
        self._sockets[-1].send(json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                           "accepts_response_payload": kind != "events_api"}))
        while time.monotonic() < sent + timeout:
            if envelope_id in self._acks:
                acked, ack = self._acks[envelope_id]
                return acked - sent, ack
            time.sleep(0.01)
        raise AssertionError(f"no ack for {kind} envelope within {timeout} s")

    def add_channel(self, name: str, archived: bool = False, bot_member: bool = True) -> Channel:
        with self.lock:
            channel = Channel(id=f"C{next(self._ids):08d}", name=name, is_archived=archived)
            if bot_member:
                channel.members.add(self.BOT_USER)
            self.channels[channel.id] = channel
            return channel

    def outage(self, seconds: float, status: int = 503) -> None:
        """Every API call fails with ``status`` for the next ``seconds``."""
        self._outage_until = time.monotonic() + seconds
        self._outage_status = status

    def fault(self, kind: str, method: str = "chat.postMessage", times: int = 1, seconds: float = 0.0) -> None:
        """The next ``times`` calls of ``method`` misbehave: ``slow`` (answer after ``seconds``), ``late``
        (processed, then answered after ``seconds``: past the client's timeout it is an unknown outcome),
        ``drop`` (processed, connection closed without an answer), ``html`` (a proxy's 200 page, not
        processed), ``retry_date`` (429 with an HTTP-date Retry-After ``seconds`` ahead, not processed),
        ``error`` (``{"ok": false, "error": ...}`` with ``seconds`` ignored; the error in ``method`` after
        a colon, e.g. ``chat.postMessage:invalid_auth``)."""
        method, _, error = method.partition(":")
        with self.lock:
            self.faults.append({"kind": kind, "method": method, "times": times, "seconds": seconds,
                                "error": error})

    def _take_fault(self, method: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["method"] == method and fault["times"] > 0:
                    fault["times"] -= 1
                    return fault
        return None

    def channel(self, name: str) -> Channel | None:
        with self.lock:
            return next((c for c in self.channels.values() if c.name == name), None)

    def messages(self, name: str) -> list[dict]:
        channel = self.channel(name)
        return list(channel.messages) if channel else []

    def count(self, method: str) -> int:
        with self.lock:
            return sum(1 for m, _ in self.calls if m == method)

    # --- the API --------------------------------------------------------------------------------

    def _channel(self, ref: str | None) -> Channel:
        if not ref:
            raise SlackError("channel_not_found")
        channel = self.channels.get(ref)
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _rate_limit(self, channel_id: str) -> float | None:
        now = time.monotonic()
        tokens, last = self._buckets.get(channel_id, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[channel_id] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[channel_id] = (tokens - 1, now)
        return None

    def _message(self, channel: Channel, args: dict, **extra) -> dict:
        ts = f"{1700000000 + next(self._ts)}.{next(self._ids):06d}"
        message = {"ts": ts, "user": self.BOT_USER, "text": args.get("text", ""), "blocks": args.get("blocks"),
                   "thread_ts": args.get("thread_ts"), "metadata": args.get("metadata"), "received": time.time(),
                   "reply_broadcast": args.get("reply_broadcast"), **extra}
        if isinstance(message["blocks"], str):
            message["blocks"] = json.loads(message["blocks"])
        if isinstance(message["metadata"], str):
            message["metadata"] = json.loads(message["metadata"])
        channel.messages.append(message)
        return message

    def call(self, method: str, args: dict) -> dict:
        with self.lock:
            self.calls.append((method, args))
            handler = getattr(self, "api_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            needed = [scope for scope in SCOPES.get(method, ()) if scope not in self.scopes]
            if needed and not (method == "conversations.list" and set(SCOPES[method]) & self.scopes):
                raise SlackError("missing_scope", needed=",".join(needed))
            return handler(args)

    def _member(self, channel: Channel) -> None:
        if self.BOT_USER not in channel.members:
            raise SlackError("not_in_channel")

    def api_auth_test(self, args):
        return {"user_id": self.BOT_USER, "bot_id": "B0001", "team_id": "T0001", "user": "gwbot"}

    def api_chat_postMessage(self, args):
        channel = self._channel(args.get("channel"))
        if channel.is_archived:
            raise SlackError("is_archived")
        if self.BOT_USER not in channel.members and "chat:write.public" not in self.scopes:
            raise SlackError("not_in_channel")
        if not args.get("text") and not args.get("blocks"):
            raise SlackError("no_text")
        if args.get("blocks"):
            _check_blocks(args["blocks"])
        wait = self._rate_limit(channel.id)
        if wait is not None:
            self.rate_limited += 1
            raise RateLimited(wait)
        if args.get("thread_ts") and not any(m["ts"] == args["thread_ts"] for m in channel.messages):
            raise SlackError("thread_not_found")
        message = self._message(channel, args)
        return {"channel": channel.id, "ts": message["ts"], "message": message}

    def api_chat_update(self, args):
        channel = self._channel(args.get("channel"))
        message = next((m for m in channel.messages if m["ts"] == args.get("ts")), None)
        if message is None:
            raise SlackError("message_not_found")
        if args.get("blocks"):
            _check_blocks(args["blocks"])
            message["blocks"] = json.loads(args["blocks"]) if isinstance(args["blocks"], str) else args["blocks"]
        message["text"] = args.get("text", message["text"])
        message["edited"] = True
        return {"channel": channel.id, "ts": message["ts"]}

    def api_chat_postEphemeral(self, args):
        channel = self._channel(args.get("channel"))
        if not args.get("user"):
            raise SlackError("user_not_found")
        message = self._message(channel, args, ephemeral_to=args["user"])
        return {"message_ts": message["ts"]}

    def api_conversations_create(self, args):
        name = args.get("name", "")
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not NAME_RE.match(name):
            raise SlackError("invalid_name_specials")
        if self.channel(name) is not None:
            raise SlackError("name_taken")
        channel = self.add_channel(name)
        return {"channel": self._info(channel)}

    def _info(self, channel: Channel) -> dict:
        return {"id": channel.id, "name": channel.name, "is_archived": channel.is_archived,
                "is_member": self.BOT_USER in channel.members, "topic": {"value": channel.topic}}

    def api_conversations_list(self, args):
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        exclude = str(args.get("exclude_archived", "false")).lower() in ("true", "1")
        everything = [c for c in self.channels.values() if not (exclude and c.is_archived)]
        page = everything[start:start + min(limit, 200)]  # Slack pages at most a few hundred
        nxt = start + len(page)
        return {"channels": [self._info(c) for c in page],
                "response_metadata": {"next_cursor": str(nxt) if nxt < len(everything) else ""}}

    def api_conversations_unarchive(self, args):
        raise SlackError("not_allowed_token_type")  # bot tokens cannot unarchive

    def api_conversations_join(self, args):
        channel = self._channel(args.get("channel"))
        if channel.is_archived:
            raise SlackError("is_archived")
        channel.members.add(self.BOT_USER)
        return {"channel": self._info(channel)}

    def api_conversations_invite(self, args):
        channel = self._channel(args.get("channel"))
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("no_user")
        self._member(channel)
        force = str(args.get("force", "false")).lower() in ("true", "1")
        errors = [{"user": u, "ok": False, "error": "user_not_found"} for u in users if u not in self.users]
        if errors and not force:
            raise SlackError("user_not_found", errors=errors)
        good = [u for u in users if u in self.users]
        if not good:
            raise SlackError("user_not_found", errors=errors)
        if all(u in channel.members for u in good) and not errors:
            raise SlackError("already_in_channel")
        channel.members.update(good)
        return {"channel": self._info(channel), **({"errors": errors} if errors else {})}

    def api_conversations_setTopic(self, args):
        channel = self._channel(args.get("channel"))
        topic = str(args.get("topic", ""))
        if len(topic) > 250:
            raise SlackError("too_long")
        channel.topic = topic
        return {"channel": self._info(channel)}

    def api_conversations_history(self, args):
        channel = self._channel(args.get("channel"))
        self._member(channel)
        oldest = float(args.get("oldest") or 0)
        metadata = str(args.get("include_all_metadata", "false")).lower() in ("true", "1")
        found = [dict(m) for m in channel.messages if float(m["ts"]) >= oldest or m["received"] >= oldest]
        if not metadata:
            for m in found:
                m.pop("metadata", None)
        return {"messages": list(reversed(found)), "has_more": False}

    def api_apps_connections_open(self, args):
        if self._ws_server is None:
            raise SlackError("not_allowed_token_type")
        port = self._ws_server.socket.getsockname()[1]
        return {"url": f"ws://127.0.0.1:{port}/link/?ticket=t{next(self._ids)}"}

    def api_usergroups_users_list(self, args):
        members = self.usergroups.get(args.get("usergroup", ""))
        if members is None:
            raise SlackError("no_such_subteam")
        return {"users": list(members)}

    def api_views_open(self, args):
        trigger = args.get("trigger_id")
        if not trigger or trigger not in self._triggers:
            raise SlackError("invalid_trigger_id")
        if time.monotonic() > self._triggers.pop(trigger):
            raise SlackError("expired_trigger_id")
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise SlackError("invalid_arguments")
        title = (view.get("title") or {}).get("text", "")
        blocks = view.get("blocks") or []
        if not 0 < len(title) <= 24 or len(blocks) > 100 or len(view.get("private_metadata", "")) > 3000:
            raise SlackError("invalid_arguments")
        if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            raise SlackError("invalid_arguments")
        self.views.append(view)
        return {"view": {"id": f"V{next(self._ids):08d}", **view}}

    def api_files_getUploadURLExternal(self, args):
        if not args.get("filename"):
            raise SlackError("invalid_arguments")
        try:
            length = int(args.get("length"))
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"length": length, "filename": args["filename"], "data": None, "shared": []}
        return {"upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}

    def api_files_completeUploadExternal(self, args):
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        if not files:
            raise SlackError("invalid_arguments")
        channel = self._channel(args.get("channel_id")) if args.get("channel_id") else None
        if channel is not None:
            self._member(channel)
        for item in files:
            record = self.files.get(item.get("id"))
            if record is None or record["data"] is None:
                raise SlackError("file_not_found")
            if len(record["data"]) != record["length"]:
                raise SlackError("file_upload_size_mismatch")
        if channel is not None:
            if args.get("thread_ts") and not any(m["ts"] == args["thread_ts"] for m in channel.messages):
                raise SlackError("thread_not_found")
            for item in files:
                self.files[item["id"]]["shared"].append((channel.id, args.get("thread_ts")))
                self._message(channel, {"text": args.get("initial_comment", ""), "thread_ts": args.get("thread_ts")},
                              files=[{"id": item["id"], "title": item.get("title"),
                                      "name": self.files[item["id"]]["filename"]}])
        return {"files": [{"id": item["id"], "title": item.get("title")} for item in files]}

    def api_files_info(self, args):
        record = self.files.get(args.get("file"))
        if record is None or not record["shared"]:
            raise SlackError("file_not_found")
        channels = sorted({c for c, _ in record["shared"]})
        return {"file": {"id": args["file"], "name": record["filename"], "channels": channels,
                         "shares": {"public": {c: [{"ts": "0"}] for c in channels}}}}

    def upload(self, file_id: str, data: bytes) -> None:
        with self.lock:
            if file_id not in self.files:
                raise SlackError("file_not_found")
            self.files[file_id]["data"] = data

    # --- HTTP ---------------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def _reply(self, status: int, body: dict | str, headers: dict | None = None) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urllib.parse.urlparse(self.path).path
                record = fake.files.get(path.rsplit("/", 1)[-1]) if path.startswith("/files/") else None
                if path.startswith("/files/"):
                    fake.downloads.append((path.rsplit("/", 1)[-1], self.headers.get("Authorization")))
                if record is None:
                    self._reply(404, "not found")
                elif self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._reply(302, "", {"Location": f"{fake.url}login"})  # Slack redirects to a login page
                else:
                    data = record["data"]
                    self.send_response(200)
                    self.send_header("Content-Type", "text/csv")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = urllib.parse.urlparse(self.path).path
                if time.monotonic() < fake._outage_until:
                    self._reply(fake._outage_status, "<html>Service Unavailable</html>")
                    return
                if path.startswith("/upload/"):
                    try:
                        fake.upload(path.rsplit("/", 1)[1], raw)
                    except SlackError:
                        self._reply(404, "not found")
                        return
                    self._reply(200, f"OK - {len(raw)}")
                    return
                if path.startswith("/response/"):
                    with fake.lock:
                        rid = path.rsplit("/", 1)[1]
                        fake.response_times.setdefault(rid, time.time())
                        fake.responses.append((rid, json.loads(raw or b"{}")))
                    self._reply(200, "ok")
                    return
                if not path.startswith("/api/"):
                    self._reply(404, {"ok": False, "error": "unknown_method"})
                    return
                method = path[len("/api/"):]
                auth = self.headers.get("Authorization", "")
                content_type = self.headers.get("Content-Type", "")
                if "json" in content_type:
                    args = json.loads(raw or b"{}")
                else:
                    args = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
                    args.update({k: v[-1] for k, v in urllib.parse.parse_qs(
                        urllib.parse.urlparse(self.path).query).items()})
                if not auth:
                    self._reply(200, {"ok": False, "error": "not_authed"})
                    return
                expected = fake.app_token if method == "apps.connections.open" else fake.token
                if auth != f"Bearer {expected}":
                    self._reply(200, {"ok": False, "error": "invalid_auth"})
                    return
                fault = fake._take_fault(method)
                kind = fault["kind"] if fault else None
                if kind == "html":
                    self._reply(200, "<html><body>Bad gateway (proxy)</body></html>", {"Content-Type": "text/html"})
                    return
                if kind == "retry_date":
                    when = email.utils.formatdate(time.time() + fault["seconds"], usegmt=True)
                    self._reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": when})
                    return
                if kind == "error":
                    self._reply(200, {"ok": False, "error": fault["error"]})
                    return
                if kind == "slow":
                    time.sleep(fault["seconds"])
                try:
                    result = fake.call(method, args)
                except RateLimited as exc:
                    self._reply(429, {"ok": False, "error": "ratelimited"},
                                {"Retry-After": str(max(1, int(exc.wait + 0.999)))})
                    return
                except SlackError as exc:
                    self._reply(200, {"ok": False, "error": exc.error, **exc.extra})
                    return
                if kind == "late":
                    time.sleep(fault["seconds"])
                if kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._reply(200, {"ok": True, **result})

        return Handler


class RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait
