"""Settings, routing rules, Block Kit builders (checked by the local Slack server's rules), replay and demo."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import OLD_ALERTS_TOO, data_file
from fakes.slack_server import SlackError, _check_blocks
from helpers import variant

from bot import config
from bot.events import routing
from bot.ingest.decode import decode
from bot.ingest.gcn import Circular, parse_notice
from bot.ingest.gwalert import from_record
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare
from bot.skymap.summary import summarize
from bot.slack import blocks as bk

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_settings_from_environment_and_toml(tmp_path):
    toml = tmp_path / "gwbot.toml"
    toml.write_text('''
[settings]
alerts_channel = "from-file"
ops_channel = "ops-from-file"

[event_channels]
significant = true
max_far_per_year = 1.0

[[routes]]
channel = "gw-bns"
min_bns = 0.5
alert_types = ["preliminary", "INITIAL"]
''')
    settings = config.load({"GWBOT_CONFIG": str(toml), "GWBOT_ALERTS_CHANNEL": "from-env", "HOP_AUTH": "false",
                            "GWBOT_INVITE_USERS": "U1, U2", "SLACK_BOT_TOKEN": "xoxb-secret-value",
                            "HOP_PASSWORD": "hunter2", "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert settings.channels.alerts == "from-env"  # the environment wins over the file
    assert settings.channels.ops == "ops-from-file"
    assert settings.hop.auth is False and settings.channels.invite_users == ("U1", "U2")
    assert settings.slack.api_url == "http://127.0.0.1:9/api/"
    assert settings.channels.routing.event_channels.max_far_per_year == 1.0
    assert settings.channels.routing.routes[0].rule.alert_types == ("PRELIMINARY", "INITIAL")
    for shown in (repr(settings), json.dumps(settings.describe(), default=str)):
        assert "xoxb-secret-value" not in shown and "hunter2" not in shown


def test_defaults_work_without_anything():
    settings = config.load({})
    assert settings.hop.url == "kafka://kafka.scimma.org/igwn.gwalert,gcn.circular"
    assert settings.store.database_url.startswith("sqlite:///") and not settings.posts_to_slack
    assert settings.channels.routing.event_channels.significant is True


@pytest.mark.parametrize("text, message", [
    ("[[routes]]\nmin_bns = 0.5\n", "has no channel"),
    ("[alerts]\nminimum_bns = 0.5\n", "unknown routing keys"),
    ("[settings]\nslack_token = 'x'\n", "unknown key"),
    ("[alerts\n", "GWBOT_CONFIG"),
])
def test_bad_config_names_the_problem(tmp_path, text, message):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(config.ConfigError, match=message):
        config.load({"GWBOT_CONFIG": str(toml)})


def alert(name="MS181101ab-update.json", **kw):
    return from_record(variant(name, kw.pop("sid", "S250101a"), **kw))


def test_routing_rules():
    bns = alert()  # BNS 0.95, HasNS 0.95, FAR ~1 per 350,000 yr, significant
    assert routing.matches(config.Rule(significant=True, min_bns=0.9, max_far_per_year=1), bns)
    assert not routing.matches(config.Rule(min_nsbh=0.5), bns)
    assert not routing.matches(config.Rule(groups=("Burst",)), bns)
    assert not routing.matches(config.Rule(alert_types=("INITIAL",)), bns)
    quiet = alert(significant=False)
    assert not routing.matches(config.Rule(significant=True), quiet)
    mock = alert(sid="MS250101a")
    assert not routing.matches(config.Rule(), mock, route=True)  # routes take real events by default
    assert routing.matches(config.Rule(mock=True), mock, route=True)


def every_sample_alert():
    names = ["MS181101ab-preliminary.avro", "MS181101ab-ext-update.avro", "MS181101ab-update.json",
             "S230518h_initial.json", "S250910b-earlywarning.json", "S241102br-initial.json"]
    return [decode("igwn.gwalert", data_file(n).read_bytes()) for n in names]


@pytest.mark.parametrize("gw", every_sample_alert(), ids=lambda a: f"{a.superevent_id}-{a.alert_type}")
def test_gw_summary_is_valid_block_kit(gw):
    summary = summarize(prepare(read_skymap(gw.skymap)))
    text, blocks = bk.gw_summary(gw, summary, NOW, "<#C123>")
    _check_blocks(blocks)
    assert gw.superevent_id in text and "deg²" in text
    flat = json.dumps(blocks, ensure_ascii=False)
    assert "False alarm rate" in flat and "per" in flat and "Localization" in flat
    _check_blocks(bk.mark_retracted(text, blocks)[1])


def test_burst_alert_without_distance_or_classification():
    record = variant("MS181101ab-update.json", "S250102b")
    record["event"].update(group="Burst", pipeline="cWB", search="AllSky", classification={}, properties={},
                           duration=0.0123, central_frequency=142.0)
    gw = from_record(record)
    text, blocks = bk.gw_summary(gw, None, NOW)
    _check_blocks(blocks)
    flat = json.dumps(blocks)
    assert "duration 12.3 ms" in flat and "central frequency 142 Hz" in flat and "could not be read" in flat
    assert "Classification" not in flat


def test_long_circular_is_clipped_to_slack_limits():
    message = Circular(40000, "S250101a: " + "very long subject " * 20, "line\n" * 5000, "someone", ("S250101a",))
    text, blocks = bk.circular(message)
    _check_blocks(blocks)
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert blocks[0]["text"]["text"] == "GCN Circular 40000"


@pytest.mark.parametrize("blocks", [
    [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51,
    [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}],
], ids=["section-3001", "header-151", "51-blocks", "11-fields"])
def test_block_checker_really_rejects(blocks):
    with pytest.raises(SlackError, match="invalid_blocks"):
        _check_blocks(blocks)


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "data" / "gcn").glob("*.json")), ids=lambda p: p.stem)
def test_every_notice_example_renders(path):
    notice = parse_notice(json.loads(path.read_text()), "gcn.notices.example")
    _check_blocks(bk.notice(notice)[1])


@pytest.mark.slow
def test_replay_dry_run_writes_block_kit_and_png_and_skips_duplicates(tmp_path):
    files = [str(data_file(n)) for n in ("S241102br-preliminary.json", "S241102br-initial.json",
                                         "demo-circular-S241102br.json", "MS181101ab-retraction.json")]
    env = {"GWBOT_OUTPUT_DIR": str(tmp_path / "out"), "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "bot.cli", "replay", "--dry-run", *files]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "4 files: 1 ignored, 3 posted" in first.stdout
    out = tmp_path / "out"
    messages = [json.loads(p.read_text()) for p in sorted(out.glob("*message.json"))]
    assert [m["channel"] for m in messages][:2] == ["#gw-alerts", "#s241102br"]
    assert len(list(out.glob("*.png"))) == 4  # two alerts, each in the alerts thread and the event channel
    assert any("GCN Circular 900001" in m["text"] for m in messages)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "4 files: 4 duplicate" in second.stdout
    assert len(list(out.glob("*message.json"))) == len(messages)


@pytest.mark.slow
def test_demo_runs_on_its_own(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--output-dir", str(tmp_path / "demo")],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gwbot demo: done" in proc.stdout
    out = tmp_path / "demo"
    # the terminal shows the readable lines only; the JSON log lines are in the file it names
    assert not any(line.lstrip().startswith("{") for line in (proc.stdout + proc.stderr).splitlines())
    assert f"logs (JSON lines) go to {out / 'gwbot.log'}" in proc.stdout
    logged = [json.loads(line) for line in (out / "gwbot.log").read_text().splitlines()]
    assert any(r["message"].startswith("demo message") for r in logged)
    texts = [json.loads(p.read_text())["text"] for p in sorted(out.glob("*message.json"))]
    assert any(t.startswith("S241102br PRELIMINARY") for t in texts)
    assert any("RETRACTED" in t for t in texts)
    assert len(list(out.glob("*.png"))) >= 6
    # the real Fink ZTF alerts moved into S241102br's region: one digest naming the two inside, not the third
    [digest] = [t for t in texts if "counterpart candidate" in t]
    assert digest.startswith("2 new counterpart candidates for S241102br")
    assert "ZTF26aamcbly" in digest and "ZTF26aaklfaa" in digest and "ZTF26aaooiia" not in digest


def test_unassociated_circulars_and_notices_go_to_the_notices_channel(tmp_path):
    from bot.app import Bot
    from bot.events.pipeline import RawMessage

    settings = config.load({"GWBOT_OUTPUT_DIR": str(tmp_path / "out"), "GWBOT_NOTICES_CHANNEL": "gcn-notices",
                            "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                            "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO}, dry_run=True)
    bot = Bot(settings)
    gcn = Path(__file__).parent / "data" / "gcn"
    outcomes = [
        bot.pipeline.handle(RawMessage("gcn.circulars", data_file("gcn-circular-33603.json").read_bytes(), None, 0, 0)),
        bot.pipeline.handle(RawMessage("gcn.notices.einstein_probe.wxt.alert",
                                       (gcn / "einstein_probe_wxt_alert.example.json").read_bytes(), None, 0, 1)),
        bot.pipeline.handle(RawMessage("gcn.notices.superk.sn_alert",
                                       (gcn / "superk_sn_alert.test.example.json").read_bytes(), None, 0, 2)),
    ]
    assert bot.outbox.drain(30)
    assert outcomes == ["posted", "posted", "ignored"]  # the Super-K test alert is not posted
    posted = [json.loads(p.read_text()) for p in sorted((tmp_path / "out").glob("*message.json"))]
    assert [m["channel"] for m in posted] == ["#gcn-notices", "#gcn-notices"]
    assert posted[0]["text"].startswith("GCN Circular 33603") and "Einstein Probe WXT" in posted[1]["text"]
    bot.store.close()
