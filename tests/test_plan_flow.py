"""/gw plan in Slack: the plan message, approval by authorised people only, exactly-once submission to the
local LCO portal, following the requests, supersession by a newer sky map or a retraction, expiry, restart."""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import urllib.parse

import pytest
from conftest import OLD_ALERTS_TOO, data_file
from fakes.lco_server import FakeLCO
from fakes.slack_server import FakeSlack
from helpers import json_bytes, variant, wait_for
from sqlalchemy import text
from test_commands import SECRET, command, signed

from bot import config
from bot.app import Bot
from bot.events.pipeline import RawMessage
from bot.slack.http import serve
from bot.slack.listeners import build_app
from bot.store.plans import PlanRecord

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

ALICE, BOB = "U0000ALICE", "U0000BOB01"


def make_bot(slack, lco, tmp, **extra) -> tuple[Bot, object, str]:
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": SECRET,
           "GWBOT_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}", "GWBOT_ALERTS_CHANNEL": "gw-alerts",
           "HOP_AUTH": "false", "LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal,
           "GWBOT_APPROVERS": ALICE, "GWBOT_FOLLOW_SECONDS": "1", "GWBOT_EDIT_EVERY_SECONDS": "0.5",
           "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO, **extra}
    bot = Bot(config.load(env))
    bot.start_background()
    server = serve(build_app(bot.settings, bot.answers, socket_mode=False, outbox=bot.outbox, plans=bot.plans,
                             reports=bot.reports), 0,
                   host="127.0.0.1")
    return bot, server, f"http://127.0.0.1:{server.server_port}/slack/events"


@pytest.fixture
def world(tmp_path):
    with FakeSlack() as slack, FakeLCO(schedule_after=1.0, finish_after=2.5) as lco:
        slack.add_channel("gw-alerts")
        slack.add_channel("followup")
        bot, server, url = make_bot(slack, lco, tmp_path)
        for i, name in enumerate(["S241102br-preliminary.json"]):
            bot.pipeline.handle(RawMessage("igwn.gwalert", data_file(name).read_bytes(), None, 0, i))
        assert bot.outbox.drain(60)
        world = {"slack": slack, "lco": lco, "bot": bot, "url": url, "tmp": tmp_path, "server": server}
        yield world
        world["server"].shutdown()
        world["bot"].shutdown()


def restart(world, tmp_path, **extra) -> None:
    """Stop the bot (as a process would stop) and start a new one on the same database."""
    world["server"].shutdown()
    world["bot"].shutdown()
    bot, server, url = make_bot(world["slack"], world["lco"], tmp_path, **extra)
    world.update(bot=bot, server=server, url=url)


def plan_posts(slack, channel="followup") -> list[dict]:
    return [m for m in slack.messages(channel) if m.get("blocks") and "· plan for" in m["blocks"][0]["text"]["text"]]


def propose(world, text="plan S241102br lco sinistro --fields 5") -> dict:
    before = len(plan_posts(world["slack"]))
    reply, _, _ = command(world, text, channel="followup")
    assert reply["text"].startswith("working…")
    posted = wait_for(lambda: len(plan_posts(world["slack"])) > before and plan_posts(world["slack"])[-1], 30,
                      "the plan message")
    return copy.deepcopy(posted)  # what a person's Slack client shows, even after the bot edits it


def test_a_plan_with_revisits_says_so_and_validates(world):
    message = propose(world, "plan S241102br lco sinistro --fields 3 --filters rp --revisit gp --revisit-gap 40")
    flat = json.dumps(message["blocks"], ensure_ascii=False)
    plan = row(world, plan_id_of(message))
    n = plan.summary["n_revisits"]
    assert n > 0 and f"rp × 300 s\\nthen {n} revisited in gp ≥40 min later" in flat and "validated by LCO" in flat
    assert len(plan.payload["requests"]) == 3 + n


def click(world, message: dict, action_id: str, user: str) -> int:
    slack = world["slack"]
    button = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == action_id)
    payload = {"type": "block_actions", "user": {"id": user}, "trigger_id": slack.new_trigger(),
               "channel": {"id": slack.channel("followup").id}, "message": message, "team": {"id": "T0001"},
               "actions": [{**button, "block_id": "plan", "action_ts": str(time.time())}],
               "container": {"type": "message"}}
    status, _, seconds = signed(world["url"], urllib.parse.urlencode({"payload": json.dumps(payload)}))
    assert seconds < 3
    return status


def row(world, plan_id: int) -> PlanRecord:
    return world["bot"].plans.get(plan_id)


def plan_id_of(message: dict) -> int:
    return int(message["blocks"][-1]["elements"][0]["text"].split()[1])


def ephemerals(slack, user: str) -> list[str]:
    return [m["text"] for m in slack.messages("followup") if m.get("ephemeral_to") == user]


def test_plan_message_is_validated_and_has_buttons(world):
    message = propose(world)
    flat = json.dumps(message["blocks"], ensure_ascii=False)
    assert "validated by LCO" in flat and "Probability covered" in flat and "Time per site" in flat
    assert "revisited" not in flat
    assert [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] == \
        ["plan_approve", "plan_reject"]
    picture = wait_for(lambda: next((m for m in world["slack"].messages("followup")
                                     if m.get("files") and m["thread_ts"] == message["ts"]), None), 20, "picture")
    assert world["slack"].files[picture["files"][0]["id"]]["data"][:4] == b"\x89PNG"
    assert world["lco"].validations == 1 and world["lco"].submissions == 0


def test_outsider_cannot_approve(world):
    message = propose(world)
    assert click(world, message, "plan_approve", BOB) == 200
    wait_for(lambda: ephemerals(world["slack"], BOB), 10, "the refusal")
    assert "Only the approvers" in ephemerals(world["slack"], BOB)[0]
    assert row(world, plan_id_of(message)).status == "proposed" and world["lco"].submissions == 0


def test_double_click_submits_once_and_is_followed(world):
    slack, lco = world["slack"], world["lco"]
    message = propose(world)
    threads = [threading.Thread(target=click, args=(world, message, "plan_approve", ALICE)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    plan_id = plan_id_of(message)
    wait_for(lambda: row(world, plan_id).status in ("submitted", "done"), 20, "submission")
    wait_for(lambda: len(ephemerals(slack, ALICE)) == 3, 20, "the other three clicks answered")
    assert lco.submissions == 1
    assert all("nothing was done" in t for t in ephemerals(slack, ALICE))
    shown = wait_for(lambda: (lambda b: "request group" in b and b)(json.dumps(next(
        m for m in slack.messages("followup") if m["ts"] == message["ts"])["blocks"])), 20, "the edited message")
    assert f"approved by <@{ALICE}>" in shown
    thread = lambda: [m["text"] for m in slack.messages("followup") if m["thread_ts"] == message["ts"]]  # noqa: E731
    wait_for(lambda: any("0 of 5 requests completed; 5 scheduled" in t for t in thread()), 20, "scheduled")
    wait_for(lambda: any("5 of 5 requests completed." in t for t in thread()), 20, "completed")
    wait_for(lambda: row(world, plan_id).status == "done", 20, "done")
    group = lco.groups[row(world, plan_id).group_id]
    assert group["operator"] == "MANY" and len(group["requests"]) == 5 and len(group["name"]) <= 50


def test_reject(world):
    message = propose(world)
    click(world, message, "plan_reject", ALICE)
    wait_for(lambda: row(world, plan_id_of(message)).status == "rejected", 10, "rejection")
    click(world, message, "plan_approve", ALICE)  # too late
    wait_for(lambda: any("nothing was done" in t for t in ephemerals(world["slack"], ALICE)), 20, "the refusal")
    assert world["lco"].submissions == 0
    shown = wait_for(lambda: (lambda b: "Rejected" in b and b)(json.dumps(next(
        m for m in world["slack"].messages("followup") if m["ts"] == message["ts"])["blocks"])), 20, "the edit")
    assert f"<@{ALICE}>" in shown


def test_newer_sky_map_supersedes_and_offers_replan(world):
    slack, bot = world["slack"], world["bot"]
    message = propose(world)
    plan_id = plan_id_of(message)
    update = json_bytes(variant("S241102br-initial.json", "S241102br", alert_type="UPDATE",
                                created="2024-11-02T15:00:00Z"))
    bot.pipeline.handle(RawMessage("igwn.gwalert", update, None, 0, 50))
    wait_for(lambda: row(world, plan_id).status == "superseded", 10, "superseded")
    edited = wait_for(lambda: next((m for m in slack.messages("followup") if m["ts"] == message["ts"]
                                    and "Superseded" in json.dumps(m["blocks"])), None), 20, "the edit")
    click(world, message, "plan_approve", ALICE)  # the old buttons are gone from Slack, but a stale client may send
    wait_for(lambda: any("superseded" in t for t in ephemerals(slack, ALICE)), 10, "the refusal")
    assert world["lco"].submissions == 0
    before = len(plan_posts(slack))
    click(world, edited, "plan_replan", ALICE)
    new = copy.deepcopy(wait_for(lambda: len(plan_posts(slack)) > before and plan_posts(slack)[-1], 30, "new plan"))
    assert plan_id_of(new) != plan_id and row(world, plan_id_of(new)).status == "proposed"
    assert row(world, plan_id_of(new)).skymap_version > row(world, plan_id).skymap_version


def test_retraction_supersedes_a_pending_plan(world):
    message = propose(world)
    retraction = json_bytes(variant("MS181101ab-retraction.json", "S241102br", created="2024-11-02T16:00:00Z"))
    world["bot"].pipeline.handle(RawMessage("igwn.gwalert", retraction, None, 0, 60))
    plan = row(world, plan_id_of(message))
    assert plan.status == "superseded" and "retracted" in plan.note
    reply, _, _ = command(world, "plan S241102br lco", channel="followup")
    assert "retracted" in reply["text"]


def test_unapproved_plan_expires(world, tmp_path):
    restart(world, tmp_path, GWBOT_PLAN_EXPIRY_HOURS="0.0005")
    message = propose(world)
    wait_for(lambda: row(world, plan_id_of(message)).status == "expired", 20, "expiry")
    click(world, message, "plan_approve", ALICE)
    wait_for(lambda: any("expired" in t for t in ephemerals(world["slack"], ALICE)), 10, "the refusal")
    assert world["lco"].submissions == 0


def test_lco_errors_are_shown_in_words(world, tmp_path):
    restart(world, tmp_path, LCO_PROPOSAL_ID="NOT-OUR-PROPOSAL")
    message = propose(world)
    flat = json.dumps(message["blocks"])
    assert "LCO found errors" in flat and "You do not belong to the proposal you are trying to submit with" in flat
    assert not any(b["type"] == "actions" for b in message["blocks"])  # nothing to approve
    assert world["lco"].token not in flat


def test_restart_keeps_following_a_submitted_plan(world, tmp_path):
    slack, lco = world["slack"], world["lco"]
    lco.finish_after = 6.0
    message = propose(world)
    click(world, message, "plan_approve", ALICE)
    plan_id = plan_id_of(message)
    wait_for(lambda: row(world, plan_id).status == "submitted", 20, "submission")
    restart(world, tmp_path)  # the process goes away while LCO works on the requests
    with world["bot"].store.session() as s:
        assert sorted(s.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()) == ["follow-plans",
                                                                                        "read-others"]
    wait_for(lambda: row(world, plan_id).status == "done", 30, "the restarted bot to see completion")
    wait_for(lambda: any("5 of 5 requests completed" in m["text"] for m in slack.messages("followup")
                         if m["thread_ts"] == message["ts"]), 30, "the completion told in the thread")
    assert lco.submissions == 1


def test_a_700_request_plan_costs_at_most_30_slack_calls_from_proposal_to_done(tmp_path):
    """The plan's follow-up is one line per batch of changes in its thread and a paced edit of its message, never
    a line per request; an edit that a newer one supersedes while queued is dropped."""
    n = 700
    with FakeSlack() as slack, FakeLCO(schedule_after=0.5, finish_after=1.0, finish_spread=6.0,
                                       expire_every=100) as lco:
        slack.add_channel("gw-alerts")
        slack.add_channel("followup")
        bot, server, url = make_bot(slack, lco, tmp_path, GWBOT_EDIT_EVERY_SECONDS="3")  # 60 s in use
        world = {"slack": slack, "lco": lco, "bot": bot, "url": url, "tmp": tmp_path, "server": server}
        try:
            bot.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-preliminary.json").read_bytes(),
                                           None, 0, 0))
            assert bot.outbox.drain(60)
            before = len(slack.calls)
            message = propose(world, "plan S241102br lco sinistro --fields 1")
            plan_id = plan_id_of(message)
            with bot.store.session() as s:  # the same plan, as one of 700 fields would be
                plan = s.get_one(PlanRecord, plan_id)
                first = plan.payload["requests"][0]
                plan.payload = {**plan.payload, "operator": "MANY", "requests": [
                    {**first, "configurations": [{**c, "target": {**c["target"], "name": f"F{k}"}}
                                                 for c in first["configurations"]]} for k in range(n)]}
            click(world, message, "plan_approve", ALICE)
            wait_for(lambda: row(world, plan_id).status == "done", 90, "every request to end")
            wait_for(lambda: bot.outbox.pending() == 0, 30, "the last paced edit")
            calls = [m for m, _ in slack.calls[before:]]
            thread = [m["text"] for m in slack.messages("followup") if m["thread_ts"] == message["ts"]]
            final = next(m for m in slack.messages("followup") if m["ts"] == message["ts"])
        finally:
            server.shutdown()
            bot.shutdown()
    assert len(calls) <= 30, sorted(calls)
    assert calls.count("chat.postMessage") <= 14, thread
    assert "with 700 requests (" in thread[1] and len(thread[1]) < 300, thread[1]  # not 700 ids
    assert "693 of 700 requests completed, 7 expired)" in thread[-1] or thread[-1].endswith(
        "LCO: 693 of 700 requests completed, 7 expired."), thread
    assert all(re.search(r"\d+ of 700 requests completed", t) for t in thread[2:]), thread  # never a line each
    assert "693 of 700 requests completed, 7 expired" in json.dumps(final["blocks"])
    updates = [a for m, a in slack.calls if m == "chat.update" and a.get("ts") == message["ts"]]
    assert 2 <= len(updates) <= 10  # approved, then paced (3 s here) while requests end


def submitted_plan(world) -> tuple[dict, int, dict]:
    """A plan proposed, approved and submitted, LCO still observing: (its first message, id, message with Cancel)."""
    world["lco"].finish_after = 600.0
    message = propose(world)
    plan_id = plan_id_of(message)
    click(world, message, "plan_approve", ALICE)
    wait_for(lambda: row(world, plan_id).status == "submitted", 20, "submission")
    shown = wait_for(lambda: next((m for m in world["slack"].messages("followup") if m["ts"] == message["ts"]
                                   and "plan_cancel" in json.dumps(m["blocks"])), None), 20, "the Cancel button")
    return message, plan_id, copy.deepcopy(shown)


def test_approve_then_retraction_cancels_at_lco_once_and_says_so_in_the_thread(world):
    slack, lco, bot = world["slack"], world["lco"], world["bot"]
    message, plan_id, submitted = submitted_plan(world)  # still observing when the retraction comes
    retraction = json_bytes(variant("MS181101ab-retraction.json", "S241102br", created="2024-11-02T16:00:00Z"))
    bot.pipeline.handle(RawMessage("igwn.gwalert", retraction, None, 0, 70))
    wait_for(lambda: row(world, plan_id).status == "cancelled", 20, "the cancel at LCO")
    group_id = row(world, plan_id).group_id
    assert lco.cancels == [group_id]
    assert {r["state"] for r in lco.view(group_id)["requests"]} == {"CANCELED"}
    thread = lambda: [m["text"] for m in slack.messages("followup") if m["thread_ts"] == message["ts"]]  # noqa: E731
    wait_for(lambda: any("the event was retracted: 5 requests cancelled at LCO" in t for t in thread()), 20,
             "the thread to say so")
    click(world, submitted, "plan_cancel", ALICE)  # a stale button, pressed after it all
    wait_for(lambda: any("already cancelled by the retraction" in t for t in ephemerals(slack, ALICE)), 20,
             "the answer to a second cancel")
    assert lco.cancels == [group_id]  # asked once


def test_cancel_is_for_approvers_and_a_double_press_cancels_once(world):
    slack, lco = world["slack"], world["lco"]
    _, plan_id, shown = submitted_plan(world)
    click(world, copy.deepcopy(shown), "plan_cancel", BOB)
    wait_for(lambda: any("Only the approvers" in t for t in ephemerals(slack, BOB)), 20, "the refusal")
    for _ in range(2):
        click(world, copy.deepcopy(shown), "plan_cancel", ALICE)
    wait_for(lambda: row(world, plan_id).status == "cancelled", 20, "the cancel at LCO")
    assert lco.cancels == [row(world, plan_id).group_id]
    wait_for(lambda: any("already cancelled by <@" in t for t in ephemerals(slack, ALICE)), 20, "the second press")
