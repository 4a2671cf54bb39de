"""/gw commands, the button and modal, CSV checks: signed HTTP requests and Socket Mode envelopes
against the running app, with the local Slack Web API server serving the API and the response URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from conftest import OLD_ALERTS_TOO, data_file
from fakes.slack_server import FakeSlack
from helpers import json_bytes, variant, wait_for, without_distance

from bot import config
from bot.app import Bot
from bot.events.pipeline import RawMessage
from bot.skymap.crossmatch import crossmatch
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare
from bot.slack.http import serve
from bot.slack.listeners import build_app

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = "U0000ALICE"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A bot that has seen a few real alerts, its Slack, and its HTTP endpoint."""
    tmp = tmp_path_factory.mktemp("commands")
    with FakeSlack() as slack:
        slack.add_channel("gw-alerts")
        slack.add_channel("random")
        settings = config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url,
                                "SLACK_SIGNING_SECRET": SECRET, "GWBOT_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
                                "GWBOT_ALERTS_CHANNEL": "gw-alerts", "HOP_AUTH": "false",
                                "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO})
        bot = Bot(settings)
        burst = variant("MS181101ab-update.json", "S250101b")
        burst["event"]["skymap"] = without_distance(base64.b64decode(burst["event"]["skymap"]))
        messages = [("igwn.gwalert", data_file("S241102br-preliminary.json").read_bytes()),
                    ("igwn.gwalert", data_file("S241102br-initial.json").read_bytes()),
                    ("igwn.gwalert", json_bytes(variant("S241102br-initial.json", "S241103x"))),
                    ("igwn.gwalert", data_file("S230518h_initial.json").read_bytes()),
                    ("igwn.gwalert", json_bytes(burst)),
                    ("igwn.gwalert", json_bytes(variant("S241102br-initial.json", "S250505r"))),
                    ("igwn.gwalert", json_bytes(variant("MS181101ab-retraction.json", "S250505r")))]
        for i, (topic, data) in enumerate(messages):
            bot.pipeline.handle(RawMessage(topic, data, None, 0, i))
        assert bot.outbox.drain(120)
        bot.start_background()  # the outbox sends what the commands queue (files, threaded answers)
        app = build_app(settings, bot.answers, socket_mode=False, outbox=bot.outbox, plans=bot.plans,
                        circulars=bot.circulars)
        server = serve(app, 0, host="127.0.0.1")
        yield {"slack": slack, "bot": bot, "url": f"http://127.0.0.1:{server.server_port}/slack/events",
               "settings": settings}
        server.shutdown()
        bot.shutdown()


def signed(url: str, body: str, secret: str = SECRET, timestamp: int | None = None,
           content_type: str = "application/x-www-form-urlencoded") -> tuple[int, str, float]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode(), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), time.monotonic() - t0


_ids = iter(range(10**6))


def command(world, text: str, channel: str = "random", wait: bool = True) -> tuple[dict | None, float, str]:
    """Send /gw TEXT; return (the response posted to the response URL, seconds until it arrived, ack body)."""
    slack = world["slack"]
    channel_id = slack.channel(channel).id
    rid = f"r{next(_ids)}"
    body = urllib.parse.urlencode({
        "token": "legacy", "team_id": "T0001", "channel_id": channel_id, "channel_name": channel,
        "user_id": USER, "user_name": "alice", "command": "/gw", "text": text,
        "response_url": f"{slack.url}response/{rid}", "trigger_id": slack.new_trigger()})
    t0 = time.monotonic()
    status, ack, ack_seconds = signed(world["url"], body)
    assert status == 200 and ack_seconds < 3.0
    if not wait:
        return None, ack_seconds, ack
    found = wait_for(lambda: next((r for i, r in slack.responses if i == rid), None), 20, f"response to /gw {text}")
    return found, time.monotonic() - t0, ack


def test_help_lists_every_command(world):
    reply, _, _ = command(world, "help")
    assert reply["response_type"] == "ephemeral"
    text = json.dumps(reply["blocks"])
    for name in ("list", "info", "skymap", "check", "join", "status"):
        assert f"/gw {name}" in text


def test_list_shows_latest_events(world):
    reply, _, _ = command(world, "list 3")
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "Latest 3 events" in text and "S250505r" in text and "RETRACTED" in text
    assert "S241102br" not in text  # only the three latest
    reply, _, _ = command(world, "list")
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "S241102br" in text and "BBH 99%" in text and "deg²" in text and "Mpc" in text


def test_info_is_the_latest_summary(world):
    reply, _, _ = command(world, "info S241102br")
    assert reply["response_type"] == "in_channel"
    assert reply["blocks"][0]["text"]["text"] == "S241102br · INITIAL"
    assert "{event_channel}" not in json.dumps(reply["blocks"])


def test_skymap_posts_the_picture_where_asked(world):
    slack = world["slack"]
    before = len([m for m in slack.messages("random") if m.get("files")])
    command(world, "skymap S241102br", wait=False)
    wait_for(lambda: len([m for m in slack.messages("random") if m.get("files")]) > before, 20, "the picture")
    picture = [m for m in slack.messages("random") if m.get("files")][-1]
    assert slack.files[picture["files"][0]["id"]]["data"][:4] == b"\x89PNG"


def reference_check(world, event_id: str, ra: float, dec: float, dist: float | None):
    fits = world["bot"].store.latest_skymap(event_id).fits
    return crossmatch(prepare(read_skymap(fits)), ra, dec, dist)


def test_check_one_candidate(world):
    reply, seconds, _ = command(world, "check S241102br 345.0 41.0 350 2024-11-03T12:00:00Z")
    expected = reference_check(world, "S241102br", 345.0, 41.0, 350.0)
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert reply["response_type"] == "in_channel"
    assert f"credible level {expected.credible_level[0]:.3f}" in text
    assert f"distance credible level {expected.distance_credible_level[0]:.3f}" in text
    assert "PLAUSIBLE" in text and "23.3 h after merger" in text
    assert seconds < 3.0


def test_check_sexagesimal_and_several_lines(world):
    reply, _, _ = command(world, "check S241102br\n23:00:03.5 +41:02:21 354\n120 -60\n345.2, 40.5")
    sections = [b for b in reply["blocks"] if b["type"] == "section"]
    assert "3 candidates checked" in reply["blocks"][0]["text"]["text"]
    assert "plausible" in sections[0]["text"]["text"] and len(sections) == 4
    assert "EXCLUDED" in json.dumps(reply["blocks"])  # 120 -60 is nowhere near


def test_check_in_the_event_channel_needs_no_id(world):
    slack = world["slack"]
    channel = slack.channel("s241102br")
    reply, _, _ = command(world, "check 345.0 41.0", channel=channel.name)
    assert reply["blocks"][0]["text"]["text"] == "S241102br: 1 candidate checked"


@pytest.mark.parametrize("text, expected", [
    ("check S241102bx 10 10", "Did you mean S241102br"),
    ("check S241102br 400 10", "RA 400 is outside"),
    ("check S241102br 10", "needs RA and Dec"),
    ("check S250505r 10 10", "was retracted"),
    ("check 10 10", "not an event channel"),
    ("info S9", "not a superevent ID"),
    ("frobnicate", "unknown command"),
    ("list 500", "list takes a number"),
    ("plan S241102br keck", "unknown facility"),
    ("plan S241102br lco sinistro --filters g", "has no filter g"),
    ("plan S241102br lco --fields many", "takes a number"),
    ("plan S241102br lco sinistro --revisit g", "has no filter g"),
    ("plan S241102br lco --revisit gp --revisit-gap 2", "out of range"),
])
def test_bad_input_gets_a_clear_ephemeral_answer(world, text, expected):
    reply, _, _ = command(world, text)
    assert reply["response_type"] == "ephemeral"
    assert expected in reply["text"]
    assert "Traceback" not in reply["text"]


def test_event_without_distance_says_so(world):
    reply, _, _ = command(world, "check S250101b 194.3 -17.8 40")
    text = json.dumps(reply["blocks"])
    assert "no distance information" in text and "credible level" in text


def test_join_invites_the_user(world):
    slack = world["slack"]
    channel = slack.channel("s241103x")
    channel.members.discard(USER)
    reply, _, _ = command(world, "join S241103x")
    assert USER in channel.members and "Invited you" in reply["text"]
    reply, _, _ = command(world, "join S241103x")
    assert "already in" in reply["text"]


def test_status(world):
    reply, _, _ = command(world, "status")
    text = json.dumps(reply["blocks"])
    assert "NOT connected" in text and "igwn.gwalert" in text and "pending" in text and "sqlite" in text


def test_forged_and_replayed_requests_are_refused(world):
    slack = world["slack"]
    body = urllib.parse.urlencode({"command": "/gw", "text": "help", "user_id": USER,
                                   "channel_id": slack.channel("random").id,
                                   "response_url": f"{slack.url}response/forged"})
    assert signed(world["url"], body, secret="not-the-secret")[0] == 401
    assert signed(world["url"], body, timestamp=int(time.time()) - 600)[0] == 401  # stale: a replay
    tampered = signed(world["url"], body)  # a valid request, for contrast
    assert tampered[0] == 200
    wait_for(lambda: [r for i, r in slack.responses if i == "forged"], 10, "the genuine request's answer")
    time.sleep(1)
    assert len([r for i, r in slack.responses if i == "forged"]) == 1  # only the genuine one was answered


def test_button_opens_modal_and_answers_in_thread(world):
    slack = world["slack"]
    alerts = slack.channel("gw-alerts")
    summary = next(m for m in alerts.messages if m["text"].startswith("S241102br PRELIMINARY"))
    button = next(b for b in summary["blocks"] if b["type"] == "actions")["elements"][0]
    payload = {"type": "block_actions", "user": {"id": USER}, "trigger_id": slack.new_trigger(),
               "channel": {"id": alerts.id}, "message": summary, "container": {"type": "message"},
               "actions": [{**button, "block_id": "check:S241102br", "action_ts": "1"}], "team": {"id": "T0001"}}
    status, _, seconds = signed(world["url"], urllib.parse.urlencode({"payload": json.dumps(payload)}))
    assert status == 200 and seconds < 3
    view = wait_for(lambda: slack.views and slack.views[-1], 10, "the modal")
    assert view["callback_id"] == "check_modal"

    def submit(values: dict) -> tuple[int, str]:
        state = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}
        sub = {"type": "view_submission", "user": {"id": USER}, "team": {"id": "T0001"},
               "view": {**view, "id": "V1", "state": {"values": state}}}
        status, body, _ = signed(world["url"], urllib.parse.urlencode({"payload": json.dumps(sub)}))
        return status, body

    status, body = submit({"ra": "abc", "dec": "41", "distance": "", "time": ""})
    assert status == 200 and json.loads(body)["response_action"] == "errors" and "ra" in json.loads(body)["errors"]
    status, body = submit({"ra": "345.0", "dec": "41.0", "distance": "350", "time": ""})
    assert status == 200
    answer = wait_for(lambda: next((m for m in alerts.messages if m["thread_ts"] == summary["ts"]
                                    and "candidate" in m["text"] + json.dumps(m.get("blocks"))
                                    and "credible level" in json.dumps(m.get("blocks"))), None), 20, "the answer")
    assert "PLAUSIBLE" in answer["text"]


def csv_event(world, text: str, data: bytes, channel: str = "random") -> dict:
    slack = world["slack"]
    file = slack.add_file("candidates.csv", data)
    ts = f"{time.time():.6f}"
    event = {"type": "message", "subtype": "file_share", "text": text, "user": USER, "ts": ts,
             "channel": slack.channel(channel).id, "files": [file], "channel_type": "channel"}
    # the person's message exists in the channel before Slack tells the bot about it
    slack.channel(channel).messages.append({"ts": ts, "text": text, "thread_ts": None, "received": time.time()})
    body = json.dumps({"type": "event_callback", "token": "legacy", "team_id": "T0001", "api_app_id": "A1",
                       "event": event, "event_id": f"Ev{ts}", "event_time": int(time.time())})
    status, _, seconds = signed(world["url"], body, content_type="application/json")
    assert status == 200 and seconds < 3
    return {"ts": ts, "channel": channel}


def test_csv_of_ten_thousand_candidates(world):
    slack = world["slack"]
    rng = np.random.default_rng(7)
    ra, dec = rng.uniform(0, 360, 10_000), np.rad2deg(np.arcsin(rng.uniform(-1, 1, 10_000)))
    ra[0], dec[0] = 345.0, 41.0
    rows = "\n".join(f"AT{i},{a:.5f},{d:.5f},350" for i, (a, d) in enumerate(zip(ra, dec, strict=True)))
    t0 = time.monotonic()
    posted = csv_event(world, "/gw check S241102br", ("name,ra,dec,distance\n" + rows).encode())
    result = wait_for(lambda: next((m for m in slack.messages("random") if m["thread_ts"] == posted["ts"]
                                    and "10,000 candidates checked" in m["text"]), None), 30, "the CSV answer")
    elapsed = time.monotonic() - t0
    csv_file = wait_for(lambda: next((m for m in slack.messages("random") if m["thread_ts"] == posted["ts"]
                                      and m.get("files")), None), 30, "the results CSV")
    data = slack.files[csv_file["files"][0]["id"]]["data"].decode().splitlines()
    assert len(data) == 10_001 and data[0].startswith("name,ra_deg,dec_deg")
    assert "AT0" in json.dumps(result["blocks"])  # the best placed is shown
    thread = [m for m in slack.messages("random") if m["thread_ts"] == posted["ts"]]
    working = [m for m in thread if m["text"].startswith("working")]
    assert working and working[0]["received"] <= result["received"]
    assert elapsed < 30


def test_csv_with_a_bad_row_is_explained(world):
    slack = world["slack"]
    posted = csv_event(world, "/gw check S241102br", b"ra,dec\n10,20\n10,95\n")
    note = wait_for(lambda: next((m for m in slack.messages("random") if m.get("ephemeral_to") == USER
                                  and m["thread_ts"] == posted["ts"]), None), 20, "the explanation")
    assert "CSV row 3" in note["text"] and "outside -90..+90" in note["text"]


def test_an_alert_arriving_while_a_command_runs(world):
    bot = world["bot"]
    results = {}

    def run_command():
        results["reply"] = command(world, "check S241102br\n" + "\n".join(f"{345 + i / 100} 41" for i in range(300)))

    thread = threading.Thread(target=run_command)
    thread.start()
    update = json_bytes(variant("S241102br-initial.json", "S241102br", alert_type="UPDATE",
                                created="2024-11-02T14:00:00Z"))
    assert bot.pipeline.handle(RawMessage("igwn.gwalert", update, None, 0, 99)) == "posted"
    thread.join(30)
    assert bot.outbox.drain(60)
    assert "300 candidates checked" in results["reply"][0]["blocks"][0]["text"]["text"]
    reply, _, _ = command(world, "info S241102br")
    assert reply["blocks"][0]["text"]["text"] == "S241102br · UPDATE"


def test_socket_mode_envelopes(world):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    slack = world["slack"]
    slack.start_socket_mode()
    settings = config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url,
                            "SLACK_APP_TOKEN": slack.app_token, "GWBOT_DATABASE_URL": "sqlite://"})
    handler = SocketModeHandler(build_app(settings, world["bot"].answers, socket_mode=True,
                                          outbox=world["bot"].outbox), slack.app_token)
    handler.connect()
    try:
        payload = {"command": "/gw", "text": "check S241102br 345.0 41.0", "user_id": USER,
                   "channel_id": slack.channel("random").id, "response_url": f"{slack.url}response/sock1",
                   "trigger_id": slack.new_trigger(), "team_id": "T0001"}
        seconds, _ = slack.send_envelope("slash_commands", payload)
        assert seconds < 3
        reply = wait_for(lambda: next((r for i, r in slack.responses if i == "sock1"), None), 20, "socket reply")
        assert "credible level" in json.dumps(reply["blocks"])
    finally:
        handler.close()


def test_a_shared_file_is_fetched_only_from_slacks_file_host(world):
    """The bot token goes only to Slack: a file whose url_private points elsewhere is not fetched."""
    import http.server

    seen: list[str | None] = []

    class Elsewhere(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"ra,dec\n1,")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    slack = world["slack"]
    try:
        file = slack.add_file("evil.csv", b"ra,dec\n10,20\n")
        file["url_private"] = file["url_private_download"] = f"http://127.0.0.1:{server.server_port}/steal"
        ts = f"{time.time():.6f}"
        slack.channel("random").messages.append({"ts": ts, "text": "/gw check S241102br", "thread_ts": None,
                                                 "received": time.time()})
        event = {"type": "message", "subtype": "file_share", "text": "/gw check S241102br", "user": USER, "ts": ts,
                 "channel": slack.channel("random").id, "files": [file], "channel_type": "channel"}
        body = json.dumps({"type": "event_callback", "token": "legacy", "team_id": "T0001", "api_app_id": "A1",
                           "event": event, "event_id": f"Ev{ts}", "event_time": int(time.time())})
        assert signed(world["url"], body, content_type="application/json")[0] == 200
        note = wait_for(lambda: next((m for m in slack.messages("random") if m.get("ephemeral_to") == USER
                                      and m["thread_ts"] == ts), None), 20, "the refusal")
        assert "not stored on Slack" in note["text"] and seen == []
        assert all(auth == f"Bearer {slack.token}" for _, auth in slack.downloads)  # Slack's own host: token sent
    finally:
        server.shutdown()


def test_a_picture_is_uploaded_into_a_channel_the_bot_had_not_joined(world):
    slack = world["slack"]
    lobby = slack.add_channel("lobby", bot_member=False)
    command(world, "skymap S241102br", channel="lobby", wait=False)
    wait_for(lambda: any(m.get("files") for m in lobby.messages), 20, "the picture")
    assert slack.BOT_USER in lobby.members


def test_check_reports_both_maps_when_there_is_a_combined_one(world):
    bot = world["bot"]
    record = variant("MS181101ab-ext-update.avro", "S250720j")  # a real UPDATE with a Fermi coincidence
    assert bot.pipeline.handle(RawMessage("igwn.gwalert", json_bytes(record), None, 0, 500)) == "posted"
    assert bot.outbox.drain(60)
    reply, _, _ = command(world, "check S250720j 345.0 41.0")
    flat = json.dumps(reply["blocks"])
    assert "in the combined GW \\u00d7 Fermi map: credible level" in flat
    gw = bot.store.latest_skymap("S250720j")
    combined = bot.store.latest_skymap("S250720j", "combined")
    assert gw.fits != combined.fits and combined.observatory


def test_candidates_command_and_the_digest_check_button(world):
    """A broker candidate in S241102br's region: its digest's Check button answers in the digest's thread, and
    /gw candidates lists it (and filters by broker and credible level)."""
    from fakes import broker_messages as bm
    from test_candidates import MERGER_MJD, positions

    from bot.brokers.decoders import Message
    from bot.brokers.record import Format
    from bot.candidates.worker import CandidateWorker

    bot, slack = world["bot"], world["slack"]
    (ra, dec), = positions([0.3])
    broker = config.BrokerConfig("lasair", Format.LASAIR, "kafka://127.0.0.1:1/lasair")
    then = (MERGER_MJD + 1 - 40587.0) * 86400.0
    worker = CandidateWorker(world["settings"], broker, bot.store, lambda *a: None, bot.maps, clock=lambda: then)
    worker.process([Message("lasair", bm.lasair_value(31415, ra, dec, MERGER_MJD + 0.5, MERGER_MJD + 0.4))])
    worker.housekeeping()
    channel = slack.channel("s241102br")
    digest = wait_for(lambda: next((m for m in channel.messages if "counterpart candidate" in m["text"]), None), 20,
                      "the digest")
    button = next(b for b in digest["blocks"] if b.get("accessory"))["accessory"]
    payload = {"type": "block_actions", "user": {"id": USER}, "trigger_id": slack.new_trigger(),
               "channel": {"id": channel.id}, "message": digest, "container": {"type": "message"},
               "actions": [{**button, "block_id": "b1", "action_ts": "1"}], "team": {"id": "T0001"}}
    status, _, seconds = signed(world["url"], urllib.parse.urlencode({"payload": json.dumps(payload)}))
    assert status == 200 and seconds < 3
    answer = wait_for(lambda: next((m for m in channel.messages if m["thread_ts"] == digest["ts"]
                                    and "31415" in json.dumps(m["blocks"])
                                    and "credible level" in json.dumps(m["blocks"])),
                                   None), 20, "the check's answer in the digest's thread")
    assert "PLAUSIBLE" in answer["text"] and "after merger" in answer["text"]
    reply, _, _ = command(world, "candidates S241102br")
    assert "31415" in json.dumps(reply["blocks"]) and "1 broker candidate" in reply["text"]
    reply, _, _ = command(world, "candidates S241102br --broker fink")
    assert "No broker candidates" in reply["text"]
    reply, _, _ = command(world, "candidates S241102br --cl 2")
    assert "--cl takes a credible level" in reply["text"]


def _press(world, user: str, channel, message: dict, button: dict) -> None:
    slack = world["slack"]
    payload = {"type": "block_actions", "user": {"id": user}, "trigger_id": slack.new_trigger(),
               "channel": {"id": channel.id}, "message": message, "container": {"type": "message"},
               "actions": [{**button, "block_id": "vet", "action_ts": "1"}], "team": {"id": "T0001"}}
    status, _, seconds = signed(world["url"], urllib.parse.urlencode({"payload": json.dumps(payload)}))
    assert status == 200 and seconds < 3


def test_vetting_from_two_people_with_a_change_of_mind(world):
    """A candidate's Interesting / Not it (with its reason, from the form) / Follow up buttons: each vote is kept,
    the candidate's message shows the latest with who, its thread says each; /gw candidates --status filters, and
    --summary counts them in one message."""
    from fakes import broker_messages as bm
    from sqlalchemy import select
    from test_candidates import MERGER_MJD, positions

    from bot.brokers.decoders import Message
    from bot.brokers.record import Format
    from bot.candidates.worker import CandidateWorker
    from bot.store.candidates import CandidateRecord, CandidateVote

    bot, slack = world["bot"], world["slack"]
    (ra, dec), = positions([0.35])
    broker = config.BrokerConfig("lasair", Format.LASAIR, "kafka://127.0.0.1:1/lasair")
    then = (MERGER_MJD + 1 - 40587.0) * 86400.0 + 3600  # an hour after the other test's digest: this one is due
    worker = CandidateWorker(world["settings"], broker, bot.store, lambda *a: None, bot.maps, clock=lambda: then)
    worker.process([Message("lasair", bm.lasair_value(27182, ra, dec, MERGER_MJD + 0.6, MERGER_MJD + 0.5))])
    worker.housekeeping()
    channel = slack.channel("s241102br")

    def detail() -> dict | None:
        return next((m for m in channel.messages if m.get("thread_ts") and "27182" in json.dumps(m.get("blocks"))
                     and any(b["type"] == "actions" for b in m.get("blocks") or [])), None)

    message = wait_for(detail, 20, "the candidate's message in the digest's thread")
    buttons = {e["text"]["text"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {"Interesting", "Not it", "Follow up", "Light curve", "Mark for report"} <= set(buttons)
    assert "Team verdict: not vetted yet" in json.dumps(message["blocks"])

    _press(world, "UALICE", channel, message, buttons["Interesting"])
    wait_for(lambda: "Interesting" in json.dumps(detail()["blocks"]) and "UALICE" in json.dumps(detail()["blocks"]),
             20, "the message showing Alice's verdict")
    # Bob says Not it: the form asks why
    views = len(slack.views)
    _press(world, "UBOB", channel, detail(), buttons["Not it"])
    view = wait_for(lambda: len(slack.views) > views and slack.views[-1], 10, "the Not it form")
    assert view["callback_id"] == "candidate_not_it"
    state = {"reason": {"value": {"type": "static_select", "selected_option": {"value": "asteroid"}}},
             "note": {"value": {"type": "plain_text_input", "value": None}}}
    sub = {"type": "view_submission", "user": {"id": "UBOB"}, "team": {"id": "T0001"},
           "view": {**view, "id": "V2", "state": {"values": state}}}
    assert signed(world["url"], urllib.parse.urlencode({"payload": json.dumps(sub)}))[0] == 200
    wait_for(lambda: "Not it" in json.dumps(detail()["blocks"]) and "asteroid" in json.dumps(detail()["blocks"]),
             20, "the message showing Bob's Not it")
    reply, _, _ = command(world, "candidates S241102br --status rejected")
    assert "27182" in json.dumps(reply["blocks"]) and "asteroid" in json.dumps(reply["blocks"])
    reply, _, _ = command(world, "candidates S241102br --status interesting")
    assert "27182" not in json.dumps(reply["blocks"])
    # Alice changes her mind back: Follow up
    _press(world, "UALICE", channel, detail(), buttons["Follow up"])
    wait_for(lambda: "Follow up" in json.dumps(detail()["blocks"]), 20, "the message showing Follow up")
    assert bot.outbox.drain(30)
    notes = [m["text"] for m in channel.messages
             if m.get("thread_ts") == message["thread_ts"] and "27182:" in m["text"]]
    assert notes == ["27182: *Interesting*, by <@UALICE>", "27182: *Not it* (asteroid), by <@UBOB>",
                     "27182: *Follow up*, by <@UALICE>"]
    with bot.store.session() as s:
        row = s.scalar(select(CandidateRecord).where(CandidateRecord.object_id == "27182"))
        votes = [(v.voter, v.status, v.reason) for v in s.scalars(select(CandidateVote).where(
            CandidateVote.candidate_id == row.id).order_by(CandidateVote.id))]
        assert (row.status, row.status_by) == ("follow_up", "UALICE")
    assert votes == [("UALICE", "interesting", None), ("UBOB", "rejected", "asteroid"), ("UALICE", "follow_up", None)]
    reply, _, _ = command(world, "candidates S241102br --status follow_up")
    assert "27182" in json.dumps(reply["blocks"])
    reply, _, _ = command(world, "candidates S241102br --status rejected")
    assert "27182" not in json.dumps(reply["blocks"])
    reply, _, _ = command(world, "candidates S241102br --summary")
    summary = json.dumps(reply["blocks"])
    assert reply["response_type"] == "in_channel" and "1 vetted" in reply["text"]
    assert "<@UALICE> 2" in summary and "<@UBOB> 1" in summary and "27182" in summary
    reply, _, _ = command(world, "candidates S241102br --status maybe")
    assert "--status is one of" in reply["text"]


def test_circular_command_drafts_in_the_event_channel_with_its_snippet(world):
    """/gw circular: the draft's message in the event's channel, its text as a snippet file and its picture in the
    draft's thread; Edit opens the form pre-filled."""
    bot, slack = world["bot"], world["slack"]
    reply, _, ack = command(world, "circular S241102br")
    assert "drafting S241102br's GCN Circular" in reply["text"]
    channel = slack.channel("s241102br")
    draft = wait_for(lambda: next((m for m in channel.messages if m["text"].startswith("GCN Circular draft")), None),
                     20, "the draft's message")
    assert bot.outbox.drain(30)
    shared = {f["filename"]: f for f in slack.files.values() if f["shared"]}
    snippet = shared["S241102br-circular-v1.md"]
    assert snippet["shared"][0] == (channel.id, draft["ts"]) and shared["S241102br-circular.png"]["shared"][0][1] == \
        draft["ts"]
    text = snippet["data"].decode()
    subject = text.splitlines()[0].removeprefix("SUBJECT: ")
    # the vetting test before this one (same world) may have left S241102br a candidate of interest
    assert subject.startswith("LIGO/Virgo/KAGRA S241102br: optical follow-up")
    assert "We have not completed any observation of S241102br yet." in text
    edit = next(e for b in draft["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == "circular_edit")
    views = len(slack.views)
    _press(world, USER, channel, draft, edit)
    view = wait_for(lambda: len(slack.views) > views and slack.views[-1], 10, "the edit form")
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]}
    assert initial["subject"] == subject and initial["body"] in text
    reply, _, _ = command(world, "circular S241102br --everything")
    assert "Usage: /gw circular" in reply["text"]
