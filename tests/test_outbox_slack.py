"""The outbox against the Slack stand-in when Slack misbehaves: nothing lost, nothing posted twice, order kept,
no lane blocked for good, and the ops channel told what people must fix."""

from __future__ import annotations

import json
import time

import pytest
from fakes.slack_server import FakeSlack
from helpers import slack_target

from bot.delivery.actions import Channel, OpenChannel, Post, Upload
from bot.delivery.outbox import Outbox, enqueue
from bot.slack.sender import slack_outbox
from bot.slack.target import WebAPI, retry_after_s
from bot.store import Store
from bot.store.delivery import Delivery
from bot.store.events import Event

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

OPS = "gw-ops"


@pytest.fixture
def slack():
    with FakeSlack(rate_per_second=100, burst=100) as s:
        s.add_channel("gw-alerts")
        s.add_channel(OPS)
        yield s


def outbox_for(slack, tmp_path, timeout: float = 1.0) -> Outbox:
    store = Store(f"sqlite:///{tmp_path / 'outbox.sqlite'}")
    return slack_outbox(store, WebAPI(slack.token, slack.api_url, timeout=timeout), ops_channel=OPS)


def post(outbox: Outbox, text: str, channel: str = "gw-alerts", **extra) -> int:
    with outbox.store.session() as s:
        return enqueue(s, Post(Channel(name=channel), text, **extra)).id


def texts(slack, channel: str = "gw-alerts") -> list[str]:
    return [m["text"] for m in slack.messages(channel) if not m.get("files")]


def ops(slack) -> str:
    return json.dumps(slack.messages(OPS))


def status(outbox: Outbox, delivery_id: int) -> str:
    with outbox.store.session() as s:
        return s.get(Delivery, delivery_id).status


def drain_fast(outbox: Outbox, seconds: float = 30.0) -> bool:
    """drain(), with every retry made due at once (the backoff itself is not what these tests are about)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outbox.step()
        with outbox.store.session() as s:
            s.query(Delivery).filter(Delivery.status == "pending").update({"not_before": 0.0})
        if outbox.pending() == 0:
            return True
    return False


def test_a_slow_slack_posts_every_message_once_and_in_order(slack, tmp_path):
    """Slack processes each of the first three posts, then answers after the client gave up (unknown outcome)."""
    outbox = outbox_for(slack, tmp_path, timeout=1.0)
    slack.fault("late", "chat.postMessage", times=3, seconds=2.5)
    for i in range(6):
        post(outbox, f"summary {i}")
    assert drain_fast(outbox, 60)
    assert texts(slack) == [f"summary {i}" for i in range(6)]
    assert slack.count("conversations.history") >= 1  # looked up before re-sending


def test_a_dropped_connection_after_posting_is_looked_up_not_reposted(slack, tmp_path):
    outbox = outbox_for(slack, tmp_path)
    slack.fault("drop", "chat.postMessage", times=1)
    first, second = post(outbox, "one"), post(outbox, "two")
    assert drain_fast(outbox)
    assert texts(slack) == ["one", "two"] and status(outbox, first) == status(outbox, second) == "done"


def test_a_proxy_html_page_and_a_date_retry_after_only_delay(slack, tmp_path):
    outbox = outbox_for(slack, tmp_path)
    slack.fault("html", "chat.postMessage", times=2)
    slack.fault("retry_date", "chat.postMessage", times=1, seconds=1)
    ids = [post(outbox, f"m{i}") for i in range(3)]
    assert drain_fast(outbox)
    assert texts(slack) == ["m0", "m1", "m2"] and all(status(outbox, i) == "done" for i in ids)


def test_retry_after_as_http_date():
    now = 1_700_000_000.0
    assert retry_after_s("Tue, 14 Nov 2023 22:13:40 GMT", now) == pytest.approx(20.0)
    assert retry_after_s("7", now) == 7.0 and retry_after_s("garbage", now) == 5.0


def test_the_delivery_loop_survives_an_unexpected_error(slack, tmp_path, monkeypatch):
    """A bug while sending one delivery is logged and retried; it never stops the later ones."""
    outbox = outbox_for(slack, tmp_path)
    real, calls = slack_target(outbox).post, []

    def flaky(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 1:
            raise KeyError("something nobody expected")
        return real(*args, **kwargs)

    monkeypatch.setattr(slack_target(outbox), "post", flaky)
    post(outbox, "a"), post(outbox, "b")
    assert drain_fast(outbox)
    assert texts(slack) == ["a", "b"]


def test_a_delivery_that_can_never_succeed_is_failed_reported_and_the_lane_moves_on(slack, tmp_path):
    outbox = outbox_for(slack, tmp_path)
    bad = post(outbox, "x" * 10, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    good = post(outbox, "after the bad one")
    assert drain_fast(outbox)
    assert status(outbox, bad) == "failed" and status(outbox, good) == "done"
    assert texts(slack) == ["after the bad one"]
    assert "could not be delivered" in ops(slack) and "invalid_blocks" in ops(slack)


def test_unclassified_failures_are_given_up_after_a_bound(slack, tmp_path):
    outbox = outbox_for(slack, tmp_path)
    slack.fault("error", "chat.postMessage:some_new_error", times=50)
    stuck = post(outbox, "never")
    assert drain_fast(outbox)
    assert status(outbox, stuck) == "failed"


def test_a_refused_token_keeps_deliveries_pending_and_tells_ops(slack, tmp_path):
    outbox = outbox_for(slack, tmp_path)
    slack.fault("error", "chat.postMessage:invalid_auth", times=6)
    delivery = post(outbox, "wait for it")
    for _ in range(2):
        outbox.step()
        with outbox.store.session() as s:
            s.query(Delivery).update({"not_before": 0.0})
    assert status(outbox, delivery) == "pending"  # not a verdict on the message
    assert drain_fast(outbox)
    assert texts(slack) == ["wait for it"]
    assert "token or app setup" in ops(slack)


def test_uploads_join_first_and_are_not_repeated_after_an_unknown_outcome(slack, tmp_path):
    """The bot is not in the channel (posting works with chat:write.public, uploading does not); the share
    of the first upload is processed but its answer is lost: the file is found by id, not uploaded again."""
    outbox = outbox_for(slack, tmp_path)
    outside = slack.add_channel("outside", bot_member=False)
    slack.fault("late", "files.completeUploadExternal", times=1, seconds=2.5)
    with outbox.store.session() as s:
        d = enqueue(s, Upload(Channel(name="outside"), "S1.png", "S1"), file=b"\x89PNG picture").id
    assert drain_fast(outbox)
    shared = [m for m in outside.messages if m.get("files")]
    assert len(shared) == 1 and slack.BOT_USER in outside.members
    assert slack.count("files.getUploadURLExternal") == 1 and slack.count("files.info") == 1
    with outbox.store.session() as s:
        assert s.get(Delivery, d).file is None  # a delivered picture is not kept


def test_history_lookup_joins_the_channel_first(slack, tmp_path):
    """After a crash, a post into a channel the bot never joined is looked up (history needs membership)."""
    outbox = outbox_for(slack, tmp_path)
    outside = slack.add_channel("outside2", bot_member=False)
    d = post(outbox, "was it posted?", channel="outside2")
    with outbox.store.session() as s:
        row = s.get(Delivery, d)
        row.status, row.result = "in_flight", {"channel": outside.id}
    outbox.recover()
    assert drain_fast(outbox)
    assert [m["text"] for m in outside.messages] == ["was it posted?"]


def test_invites_go_on_when_one_user_cannot_be_invited(slack, tmp_path):
    outbox = outbox_for(slack, tmp_path)
    with outbox.store.session() as s:
        s.add(Event(event_id="S250101a", channel_name="s250101a", facts={}))
        s.flush()
        enqueue(s, OpenChannel("S250101a", "s250101a", ("U0000ALICE", "UNOSUCH00")), event_id="S250101a")
    assert drain_fast(outbox)
    channel = slack.channel("s250101a")
    assert "U0000ALICE" in channel.members
    invite = next(args for method, args in slack.calls if method == "conversations.invite")
    assert str(invite["force"]).lower() in ("true", "1")


def test_the_stand_in_refuses_what_real_slack_refuses(slack):
    """The rules the stand-in enforces must bite: unarchive with a bot token, uploads and history without
    membership, and a scope the manifest does not ask for."""
    import urllib.request

    def api(method: str, **args) -> dict:
        request = urllib.request.Request(slack.api_url + method, data=json.dumps(args).encode(), headers={
            "Authorization": f"Bearer {slack.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as r:
            return json.load(r)

    archived = slack.add_channel("old", archived=True)
    outside = slack.add_channel("notmine", bot_member=False)
    assert api("conversations.unarchive", channel=archived.id)["error"] == "not_allowed_token_type"
    assert api("conversations.history", channel=outside.id)["error"] == "not_in_channel"
    slack.scopes.discard("files:read")
    assert api("files.info", file="F1")["error"] == "missing_scope"


def test_every_web_api_call_is_counted_per_method_against_its_tier(slack, tmp_path):
    """/gw status shows the calls of the last minute per method beside Slack's published tier; the meter counts
    what reached the stand-in, call for call."""
    from bot.commands.records import StatusReport
    from bot.slack.blocks import status_message

    outbox = outbox_for(slack, tmp_path)
    for i in range(3):
        post(outbox, f"line {i}")
    assert drain_fast(outbox)
    rates = {r.method: r for r in slack_target(outbox).meter.rates()}
    assert rates["chat.postMessage"].last_minute == slack.count("chat.postMessage") == 3
    assert rates["conversations.list"].last_minute == slack.count("conversations.list")
    assert rates["conversations.list"].tier == "Tier 2" and rates["conversations.list"].budget == 20
    report = StatusReport(connected=True, url=None, group_id=None, problem=None, topics=[], pending=0, failed=0,
                          stalled_s=None, database="sqlite", database_ok=True, uptime_s=5.0, version="0.2.0",
                          slack_calls=tuple(slack_target(outbox).meter.rates()))
    shown = json.dumps(status_message(report)[1])
    assert "`chat.postMessage` 3/60" in shown and "Tier 2" in shown


def test_the_call_meter_forgets_calls_older_than_a_minute():
    from bot.slack.budget import CallMeter

    now = [0.0]
    meter = CallMeter(clock=lambda: now[0])
    for _ in range(5):
        meter.count("chat_update")
    now[0] = 30.0
    meter.count("chat_update")
    assert [(r.method, r.last_minute, r.budget) for r in meter.rates()] == [("chat.update", 6, 50)]
    now[0] = 61.0
    assert [(r.method, r.last_minute) for r in meter.rates()] == [("chat.update", 1)]
