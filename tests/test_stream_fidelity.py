"""Hopskotch as it really behaves, on a real broker: consumer-group names, a new group's retained backlog,
VOEvent topics, and refused credentials reported once."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import confluent_kafka
import pytest
from fakes.slack_server import FakeSlack
from helpers import json_bytes, variant, wait_for

from bot import config
from bot.app import Bot, healthy
from bot.ingest.local_broker import LocalBroker, publish
from bot.slack import blocks as bk
from bot.store.events import Event

pytestmark = pytest.mark.slow
JSON = [("_format", b"json")]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with LocalBroker(log_file=tmp_path_factory.mktemp("tansu") / "tansu.log") as b:
        yield b


@pytest.fixture
def slack():
    with FakeSlack(rate_per_second=50, burst=50) as s:
        for name in ("gw-alerts", "gw-ops"):
            s.add_channel(name)
        yield s


def bot_for(broker, slack, tmp_path, topics: list[str], **env) -> Bot:
    broker.create_topics(topics)
    settings = config.load({
        "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
        "HOP_URL": f"kafka://{broker.address}/{','.join(topics)}", "GWBOT_ALERTS_CHANNEL": "gw-alerts",
        "GWBOT_OPS_CHANNEL": "gw-ops", "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite'}", **env})
    return Bot(settings)


def running(bot: Bot) -> Bot:
    bot.start_background()
    bot.start_reader_thread()
    wait_for(lambda: bot.reader.connected, 30, "the stream to connect")
    return bot


def iso(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


def test_the_consumer_group_starts_with_the_user_name(broker, slack, tmp_path):
    """Hopskotch's authorizer refuses groups not named '<user>-…' (scimma/kafka-plugins ExternalAuthorizer);
    tansu has no such rule, so the test asks the broker which groups the bot really used."""
    topic = "igwn.gwalert.groups"
    bot = running(bot_for(broker, slack, tmp_path, [topic], HOP_USERNAME="alice",
                          GWBOT_POST_MAX_AGE="36500d"))
    try:
        assert bot.reader.group_id == "alice-gwbot"
        publish(broker.address, [(topic, json_bytes(variant("S241102br-preliminary.json", "S250701a")), JSON)])
        wait_for(lambda: bot.reader.handled == 1, 60, "the alert")
        admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": broker.address})
        groups = [g.group_id for g in admin.list_consumer_groups(request_timeout=10).result(15).valid]
        assert "alice-gwbot" in groups
    finally:
        bot.shutdown()


def test_a_group_without_the_prefix_is_refused_at_start_up(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HOP_USERNAME": "alice", "GWBOT_GROUP_ID": "gwbot",
           "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run", "--dry-run"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert "does not start with 'alice-'" in proc.stderr and "alice-gwbot" in proc.stderr


def test_a_first_start_over_a_retained_backlog_posts_only_what_is_recent(broker, slack, tmp_path):
    topics = ["igwn.gwalert.backlog", "gcn.circular.backlog"]
    broker.create_topics(topics)
    old = [json_bytes(variant("S241102br-preliminary.json", f"S2507{i:02d}b", created=iso(2 * 86400 + i)))
           for i in range(4)]
    new = json_bytes(variant("S241102br-preliminary.json", "S250799c", created=iso(60)))
    circular = json.dumps({"header": {"subject": "LIGO/Virgo/KAGRA S250700b: old news", "number": 88888},
                           "body": "days old"}).encode()
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.address, "message.max.bytes": 16_000_000})
    days_ago_ms = int((time.time() - 2 * 86400) * 1000)
    for data in old:
        producer.produce(topics[0], data, headers=JSON, timestamp=days_ago_ms)
    producer.produce(topics[1], circular, headers=[("_format", b"circular")], timestamp=days_ago_ms)
    producer.produce(topics[0], new, headers=JSON)
    producer.flush(10)
    bot = running(bot_for(broker, slack, tmp_path, topics))  # GWBOT_POST_MAX_AGE: the default, 6 hours
    try:
        wait_for(lambda: bot.reader.handled == 6 and bot.outbox.pending() == 0, 90, "the backlog")
        summaries = [m["text"] for m in slack.messages("gw-alerts") if m.get("blocks")]
        assert len(summaries) == 1 and summaries[0].startswith("S250799c")
        assert slack.channel("s250700b") is None and slack.count("conversations.create") <= 1
        with bot.store.session() as s:
            assert all(s.get(Event, f"S2507{i:02d}b") is not None for i in range(4))  # /gw list, info, check know it
        status = json.dumps(bk.status_message(bot.answers.status_report())[1])
        assert "4 older than GWBOT_POST_MAX_AGE taken in silently" in status
        assert "1 older than GWBOT_POST_MAX_AGE taken in silently" in status  # the circular
        assert bot.answers.maps.latest("S250700b") is not None
    finally:
        bot.shutdown()


VOEVENT = b"""<?xml version="1.0" ?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://gwnet/LVC#S250710a-1-Preliminary"
 role="observation" version="2.0"><Who/></voe:VOEvent>"""


def test_a_voevent_topic_is_skipped_with_one_log_line(broker, slack, tmp_path, caplog):
    topics = ["lvk.voevent", "igwn.gwalert.after-voevent"]
    bot = running(bot_for(broker, slack, tmp_path, topics, GWBOT_POST_MAX_AGE="36500d"))
    try:
        with caplog.at_level(logging.INFO):
            publish(broker.address, [(topics[0], VOEVENT, [("_format", b"voevent")]) for _ in range(3)] +
                    [(topics[1], json_bytes(variant("S241102br-preliminary.json", "S250710a")), JSON)])
            wait_for(lambda: bot.reader.handled == 4 and bot.outbox.pending() == 0, 60, "all four")
        lines = [r.getMessage() for r in caplog.records if "VOEvent" in r.getMessage()]
        assert len(lines) == 1 and "lvk.voevent" in lines[0]
        assert "Could not understand" not in json.dumps(slack.messages("gw-ops"))
        assert any(m["text"].startswith("S250710a") for m in slack.messages("gw-alerts"))
    finally:
        bot.shutdown()


def test_refused_credentials_are_reported_once_in_words(broker, slack, tmp_path, monkeypatch):
    monkeypatch.setattr("bot.app.HEARTBEAT", tmp_path / "heartbeat.json")
    bot = bot_for(broker, slack, tmp_path, ["igwn.gwalert.refused"])
    bot.start_background()
    try:
        refused = confluent_kafka.KafkaError(confluent_kafka.KafkaError._AUTHENTICATION,
                                             "SASL authentication error: Authentication failed")
        for _ in range(5):
            bot.reader._kafka_error(refused)
        wait_for(lambda: bot.outbox.pending() == 0 and slack.messages("gw-ops"), 30, "the ops message")
        ops = slack.messages("gw-ops")
        assert len(ops) == 1 and "hop auth add" in json.dumps(ops)
        assert "hop auth add" in json.dumps(bk.status_message(bot.answers.status_report())[1])
        (tmp_path / "heartbeat.json").write_text(json.dumps(bot.beat()))
        ok, why = healthy(tmp_path / "heartbeat.json")
        assert not ok and "refused the credential" in why
        topic_refused = confluent_kafka.KafkaError(confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, "denied")
        bot.reader._kafka_error(topic_refused)
        wait_for(lambda: len(slack.messages("gw-ops")) == 2, 30, "the second, different problem")
        assert "Subscribe the credential to the topic" in json.dumps(slack.messages("gw-ops")[-1])
    finally:
        bot.shutdown()


def test_a_stalled_outbox_is_unhealthy(tmp_path, monkeypatch):
    with FakeSlack() as slack:
        slack.add_channel("gw-alerts")
        settings = config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
                                "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                                "GWBOT_STALL_SECONDS": "60"})
        bot = Bot(settings)
        from bot.delivery.actions import Channel, Post
        from bot.delivery.outbox import enqueue
        from bot.store.delivery import Delivery

        with bot.store.session() as s:
            d = enqueue(s, Post(Channel(name="gw-alerts"), "stuck"))
            s.flush()
            s.get(Delivery, d.id).created = time.time() - 600
        path = tmp_path / "beat.json"
        path.write_text(json.dumps(bot.beat()))
        ok, why = healthy(path)
        assert not ok and "has waited" in why
        assert "the oldest pending delivery has waited" in json.dumps(bk.status_message(bot.answers.status_report())[1])
        bot.store.close()
