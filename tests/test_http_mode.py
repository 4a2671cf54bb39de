"""HTTP mode on waitress: right answers to bad requests, and stalled connections that starve nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from fakes.slack_server import FakeSlack
from helpers import wait_for

from bot import config
from bot.app import Bot
from bot.slack.http import serve
from bot.slack.listeners import build_app

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

SECRET = "http-mode-secret"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    with FakeSlack() as slack:
        slack.add_channel("random")
        settings = config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url,
                                "SLACK_SIGNING_SECRET": SECRET, "GWBOT_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
                                "HOP_AUTH": "false"})
        bot = Bot(settings)
        server = serve(build_app(settings, bot.answers, socket_mode=False, outbox=bot.outbox), 0, host="127.0.0.1")
        yield {"slack": slack, "port": server.server_port,
               "url": f"http://127.0.0.1:{server.server_port}/slack/events"}
        server.shutdown()
        bot.store.close()


def send(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def signature(body: bytes, ts: str, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(body, ts)}


def help_body(slack, rid: str) -> bytes:
    return urllib.parse.urlencode({"command": "/gw", "text": "help", "user_id": "U0000ALICE", "team_id": "T0001",
                                   "channel_id": slack.channel("random").id,
                                   "response_url": f"{slack.url}response/{rid}"}).encode()


@pytest.mark.parametrize("headers", [
    {},  # no signature at all
    {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=abc"},
    {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=\u00e9\u00e9garbled"},
    {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=" + "0" * 64},  # stale and wrong
], ids=["unsigned", "garbled-timestamp", "garbled-signature", "stale"])
def test_bad_signatures_get_401(endpoint, headers):
    body = help_body(endpoint["slack"], "never")
    safe = {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}
    assert send(endpoint["url"], body, {"Content-Type": "application/x-www-form-urlencoded", **safe}) == 401


@pytest.mark.parametrize("body,content_type", [
    (b"%%%%", "application/x-www-form-urlencoded"),
    (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    (b"text=help", "application/x-www-form-urlencoded"),  # no command, no payload
    (b"[1, 2]", "application/json"),
    (b"\xff\xfe", "application/x-www-form-urlencoded"),
], ids=["not-form", "payload-not-json", "no-command", "json-not-object", "not-utf8"])
def test_signed_but_malformed_requests_get_400(endpoint, body, content_type):
    assert send(endpoint["url"], body, signed_headers(body, content_type)) == 400


def test_a_good_request_still_works(endpoint):
    slack = endpoint["slack"]
    body = help_body(slack, "ok1")
    assert send(endpoint["url"], body, signed_headers(body)) == 200
    reply = wait_for(lambda: next((r for i, r in slack.responses if i == "ok1"), None), 20, "the help answer")
    assert "/gw check" in json.dumps(reply)


def test_300_stalled_connections_neither_open_300_threads_nor_starve_help(endpoint):
    slack, port = endpoint["slack"], endpoint["port"]
    threads_before = threading.active_count()
    stalled = []
    try:
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            # half a request: headers promise a body that never comes, or the headers never end
            s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\npartial" if i % 2
                      else b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            stalled.append(s)
        time.sleep(0.5)
        t0 = time.monotonic()
        body = help_body(slack, "starved")
        assert send(endpoint["url"], body, signed_headers(body)) == 200
        wait_for(lambda: any(i == "starved" for i, _ in slack.responses), 10, "the help answer")
        assert time.monotonic() - t0 < 3.0
        assert threading.active_count() - threads_before < 20  # waitress's fixed pool, not a thread per socket
    finally:
        for s in stalled:
            s.close()
