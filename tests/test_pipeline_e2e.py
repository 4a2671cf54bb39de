"""The alert pipeline end to end: a real tansu broker, hop-client, and the local Slack Web API server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import OLD_ALERTS_TOO, data_file
from fakes.slack_server import FakeSlack
from helpers import TcpProxy, json_bytes, variant, wait_for

from bot import config
from bot.app import Bot
from bot.ingest.local_broker import LocalBroker, free_port, publish
from bot.store.events import Event

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

TOPICS = ["igwn.gwalert", "gcn.circular", "gcn.notices.icecube.lvk_nu_track_search"]
AVRO = [("_format", b"avro")]
JSON = [("_format", b"json")]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with LocalBroker(log_file=tmp_path_factory.mktemp("tansu") / "tansu.log") as b:
        b.create_topics(TOPICS)
        yield b


@pytest.fixture
def slack():
    with FakeSlack() as s:
        s.add_channel("gw-alerts")
        s.add_channel("gw-mock")
        s.add_channel("gw-ops")
        yield s


def settings_for(broker, slack, tmp_path, group: str, **extra) -> config.Settings:
    env = {
        "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
        "HOP_URL": f"kafka://{broker.address}/{','.join(TOPICS)}", "GWBOT_GROUP_ID": group,
        "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite'}", "GWBOT_ALERTS_CHANNEL": "gw-alerts",
        "GWBOT_MOCK_CHANNEL": "gw-mock", "GWBOT_OPS_CHANNEL": "gw-ops", "GWBOT_INVITE_USERS": "U0000ALICE",
        "GWBOT_OUTPUT_DIR": str(tmp_path / "out"), "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO,
    }
    env.update(extra)
    return config.load(env)


@pytest.fixture
def running(broker, slack, tmp_path, request):
    """A bot running in threads against the broker and the Slack server, on its own topics."""
    suffix = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[-40:]
    topics = [f"{t}.{suffix}" for t in TOPICS]
    broker.create_topics(topics)
    settings = settings_for(broker, slack, tmp_path, group=f"g-{suffix}")
    settings = settings.replace(hop_url=f"kafka://{broker.address}/{','.join(topics)}")
    bot = Bot(settings)
    bot.start_background()
    bot.start_reader_thread()
    wait_for(lambda: bot.reader.connected, 30, "the stream to connect")
    yield bot, dict(zip(TOPICS, topics, strict=True))
    bot.shutdown()


def sample(name: str) -> bytes:
    return data_file(name).read_bytes()


def summaries(slack, channel: str) -> list[dict]:
    return [m for m in slack.messages(channel) if m.get("blocks")]


def test_full_life_of_an_event(running, slack, broker):
    bot, topic = running
    gw, circ = topic["igwn.gwalert"], topic["gcn.circular"]
    publish(broker.address, [(gw, sample("MS181101ab-preliminary.avro"), AVRO)])
    wait_for(lambda: slack.channel("mock-ms181101ab"), 30, "the event channel")
    publish(broker.address, [(gw, sample("MS181101ab-ext-update.avro"), AVRO)])
    wait_for(lambda: len(summaries(slack, "gw-mock")) >= 2, 30, "the update summary")
    publish(broker.address, [(circ, sample("demo-circular-MS181101ab.json"), [("_format", b"circular")])])
    wait_for(lambda: any("Circular" in m["text"] for m in slack.messages("mock-ms181101ab")), 30, "the circular")
    publish(broker.address, [(gw, sample("MS181101ab-retraction.avro"), AVRO)])
    wait_for(lambda: bot.outbox.pending() == 0 and bot.reader.handled == 4, 60, "everything delivered")
    wait_for(lambda: "RETRACTED" in slack.channel("mock-ms181101ab").topic, 30, "the retraction topic")

    mock = slack.messages("gw-mock")
    root = mock[0]
    assert root["text"].startswith("RETRACTED: MS181101ab PRELIMINARY (mock)") and root["thread_ts"] is None
    # everything after the first summary threads under it
    assert all(m["thread_ts"] == root["ts"] for m in mock[1:])
    update = next(m for m in mock if "MS181101ab UPDATE" in m["text"])
    flat = json.dumps(update["blocks"], ensure_ascii=False)
    assert "Fermi GRB" in flat and "with Fermi: 90%" in flat  # the combined map after the GW one, labelled
    # the channel link in the summary points at the event channel
    channel = slack.channel("mock-ms181101ab")
    assert f"<#{channel.id}>" in json.dumps(root["blocks"])
    # one channel, the invited user in it, its topic refreshed
    assert slack.count("conversations.create") == 1
    assert "U0000ALICE" in channel.members
    assert channel.topic.startswith("RETRACTED")
    # pictures: uploaded through the three steps, into the event channel and the thread
    pictures = [m for m in slack.messages("mock-ms181101ab") + mock if m.get("files")]
    assert len(pictures) == 4
    assert all(slack.files[f["id"]]["data"][:4] == b"\x89PNG" for m in pictures for f in m["files"])
    assert {m["thread_ts"] for m in mock if m.get("files")} == {root["ts"]}
    # retraction: announced (broadcast from the thread), earlier summaries edited
    retraction = [m for m in mock if "RETRACTED" in m["text"] and not m.get("edited")]
    assert len(retraction) == 1 and retraction[0]["reply_broadcast"]
    edited = [m for m in slack.messages("mock-ms181101ab") + mock if m.get("edited")]
    assert len(edited) == 4 and all(m["blocks"][0]["text"]["text"].startswith("RETRACTED") for m in edited)
    # the summary text went out before the picture of the same alert
    first_picture = next(m for m in mock if m.get("files"))
    assert root["received"] <= first_picture["received"]


def test_malformed_messages_among_good_ones(running, slack, broker):
    bot, topic = running
    gw = topic["igwn.gwalert"]
    bad_avro = sample("MS181101ab-preliminary.avro")[:5000]
    missing = json.dumps({"superevent_id": "S250101a", "alert_type": "PRELIMINARY"}).encode()
    real = [variant("S241102br-preliminary.json", f"S25010{i}a", significant=False) for i in range(3)]
    publish(broker.address, [
        (gw, json_bytes(real[0]), JSON), (gw, b"\x00\x01not an alert", []), (gw, json_bytes(real[1]), JSON),
        (gw, bad_avro, AVRO), (gw, missing, JSON), (gw, json_bytes(real[2]), JSON),
        (gw, json_bytes(real[2]), JSON),  # the same alert twice: posted once
    ])
    wait_for(lambda: bot.reader.handled == 7 and bot.outbox.pending() == 0, 60, "all seven handled")
    posted = [m["text"].split()[0] for m in summaries(slack, "gw-alerts")]
    assert posted == ["S250100a", "S250101a", "S250102a"]
    ops = [m["text"] for m in slack.messages("gw-ops")]
    assert len(ops) == 3
    assert any("neither Avro nor JSON" in t or "not valid JSON" in t for t in ops)
    assert any("Avro" in t for t in ops)
    assert any("has no event" in t for t in ops)
    assert all(f"{gw} [" in t for t in ops)  # says where: topic [partition] @ offset


def test_slack_outage_delays_but_loses_nothing(running, slack, broker):
    bot, topic = running
    gw = topic["igwn.gwalert"]
    slack.outage(6.0)
    alerts = [variant("S241102br-preliminary.json", f"S2502{i:02d}a", significant=False) for i in range(5)]
    publish(broker.address, [(gw, json_bytes(a), JSON) for a in alerts])
    wait_for(lambda: bot.reader.handled == 5, 30, "alerts handled during the outage")
    assert summaries(slack, "gw-alerts") == []
    wait_for(lambda: bot.outbox.pending() == 0, 90, "delivery after the outage")
    posted = [m["text"].split()[0] for m in summaries(slack, "gw-alerts")]
    assert posted == [f"S2502{i:02d}a" for i in range(5)]  # all, once, in order


def test_rate_limits_are_respected(running, slack, broker):
    bot, topic = running
    slack.rate, slack.burst = 0.5, 1  # one message per 2 s per channel: pushback however slow this machine is
    gw = topic["igwn.gwalert"]
    alerts = [variant("S241102br-preliminary.json", f"S2503{i:02d}a", significant=False) for i in range(8)]
    publish(broker.address, [(gw, json_bytes(a), JSON) for a in alerts])
    wait_for(lambda: bot.reader.handled == 8 and bot.outbox.pending() == 0, 90, "delivery under rate limits")
    posted = [m["text"].split()[0] for m in summaries(slack, "gw-alerts")]
    assert posted == [f"S2503{i:02d}a" for i in range(8)]
    assert slack.rate_limited > 0  # the server did push back, and nothing was lost


def test_two_alerts_for_one_event_make_one_channel(running, slack, broker):
    bot, topic = running
    gw = topic["igwn.gwalert"]
    first = variant("S241102br-preliminary.json", "S250401x")
    second = variant("S241102br-initial.json", "S250401x")
    publish(broker.address, [(gw, json_bytes(first), JSON), (gw, json_bytes(second), JSON)])
    wait_for(lambda: bot.reader.handled == 2 and bot.outbox.pending() == 0, 60, "both delivered")
    assert slack.count("conversations.create") == 1
    assert len([m for m in slack.messages("s250401x") if m.get("blocks")]) == 2


def test_archived_channel_name_clash_opens_the_next_free_name(running, slack, broker):
    """Bot tokens cannot unarchive: the event gets #s250402y-1, the ops channel is told, and the archived channel
    is left alone."""
    bot, topic = running
    old = slack.add_channel("s250402y", archived=True, bot_member=False)
    publish(broker.address, [(topic["igwn.gwalert"], json_bytes(variant("S241102br-initial.json", "S250402y")), JSON)])
    wait_for(lambda: bot.reader.handled == 1 and bot.outbox.pending() == 0, 60, "delivered")
    assert old.is_archived and not old.messages and slack.count("conversations.unarchive") == 0
    new = slack.channel("s250402y-1")
    assert new is not None and len([m for m in new.messages if m.get("blocks")]) == 1
    assert new.topic.startswith("INITIAL")
    ops = " ".join(m["text"] for m in slack.messages("gw-ops"))
    assert "#s250402y was taken" in ops
    with bot.store.session() as s:
        event = s.get(Event, "S250402y")
        assert (event.channel_id, event.channel_name) == (new.id, "s250402y-1")


def test_neutrino_notice_goes_to_the_event_channel(running, slack, broker):
    bot, topic = running
    record = variant("S241102br-preliminary.json", "S230914ak")
    publish(broker.address, [(topic["igwn.gwalert"], json_bytes(record), JSON)])
    wait_for(lambda: slack.channel("s230914ak"), 30, "event channel")
    publish(broker.address, [(topic["gcn.notices.icecube.lvk_nu_track_search"],
                              sample("icecube-lvk-nu-track-search.json"), JSON)])
    wait_for(lambda: any("IceCube" in m["text"] for m in slack.messages("s230914ak")), 30, "the neutrino notice")


def run_bot_process(settings_env: dict, log_path) -> subprocess.Popen:
    env = {**os.environ, **settings_env}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=open(log_path, "ab"),
                            stderr=subprocess.STDOUT)


def test_crash_and_restart_posts_every_alert_exactly_once(broker, slack, tmp_path):
    topic = "igwn.gwalert.crash"
    broker.create_topics([topic])
    env = {
        "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
        "HOP_URL": f"kafka://{broker.address}/{topic}", "GWBOT_GROUP_ID": "crash-test",
        "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite'}", "GWBOT_ALERTS_CHANNEL": "gw-alerts",
        "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO,
    }
    ids = [f"S2505{i:02d}a" for i in range(12)]
    alerts = [json_bytes(variant("S241102br-preliminary.json", sid, significant=False)) for sid in ids]
    proc = run_bot_process(env, tmp_path / "bot.log")
    try:
        publish(broker.address, [(topic, a, JSON) for a in alerts])
        # kill it in the middle of the stream, while deliveries are under way
        wait_for(lambda: len(summaries(slack, "gw-alerts")) >= 3, 60, "some alerts posted")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = len(summaries(slack, "gw-alerts"))
        assert killed_at < len(ids), "the bot finished before it was killed; the test proves nothing"
        proc = run_bot_process(env, tmp_path / "bot.log")
        wait_for(lambda: len(summaries(slack, "gw-alerts")) >= len(ids), 120, "all alerts after the restart")
        time.sleep(3)  # anything posted twice would show up now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    posted = [m["text"].split()[0] for m in summaries(slack, "gw-alerts")]
    assert sorted(posted) == sorted(ids)
    assert len(posted) == len(set(posted))


def test_broker_outage_does_not_stop_the_bot(slack, tmp_path, caplog):
    """The network to the broker fails for a while (every connection refused), then comes back."""
    proxy_port = free_port()
    with LocalBroker(log_file=tmp_path / "tansu.log", advertised_port=proxy_port) as broker:
        proxy = TcpProxy(broker.port, proxy_port).start()
        broker.create_topics(["igwn.gwalert"])
        settings = settings_for(broker, slack, tmp_path, group="outage",
                                HOP_URL=f"kafka://{broker.address}/igwn.gwalert")
        bot = Bot(settings)
        bot.start_background()
        reader = bot.start_reader_thread()
        try:
            wait_for(lambda: bot.reader.connected, 30, "first connection")
            first = variant("S241102br-preliminary.json", "S250601a", significant=False)
            publish(broker.address, [("igwn.gwalert", json_bytes(first), JSON)])
            wait_for(lambda: len(summaries(slack, "gw-alerts")) == 1, 30, "first alert")
            proxy.cut()
            time.sleep(5)
            assert reader.is_alive()  # still running, not crashed
            proxy.start()
            second = variant("S241102br-preliminary.json", "S250602a", significant=False)
            publish(broker.address, [("igwn.gwalert", json_bytes(second), JSON)])
            wait_for(lambda: len(summaries(slack, "gw-alerts")) == 2, 90, "an alert after the network came back")
        finally:
            proxy.cut()
            bot.shutdown()
    assert [m["text"].split()[0] for m in summaries(slack, "gw-alerts")] == ["S250601a", "S250602a"]
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.ingest.stream"]
    assert any("Connection refused" in m or "brokers are down" in m or "interrupted" in m for m in logged)
