"""Follow-up rules ([[auto_plans]]): a verdict per rule for every real alert with a new map, its observable
probability checked against astropy, and plans proposed with no command typed, superseded by the next map."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body, get_sun
from astropy.time import Time
from conftest import OLD_ALERTS_TOO, data_file, skymap_bytes
from fakes.lco_server import FakeLCO
from fakes.slack_server import FakeSlack
from helpers import json_bytes, variant, wait_for

from bot import config
from bot.app import Bot
from bot.events.pipeline import RawMessage
from bot.plans.facilities import builtin
from bot.plans.planner import cells_for
from bot.plans.visibility import observability
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare
from bot.store.events import Event
from bot.store.plans import PlanRecord

ALICE = "U0000ALICE"
START = datetime(2025, 1, 5, tzinfo=UTC)


@pytest.mark.slow
def test_the_observable_probability_equals_an_independent_astropy_computation():
    """The same 24 h on the same fields, with astropy: the Sun below -12°, airmass <= 2 (altitude 30°) and the Moon
    30° away at both ends of each 10-minute step, from any LCO 1 m site; the probability of the fields seen."""
    prepared = prepare(read_skymap(skymap_bytes("S230518h_initial.json")))
    lco = builtin()["lco"]
    inst = lco.instrument(None)
    seen = observability(prepared, lco, inst, START, 24.0)
    cells, _ = cells_for(prepared, lco, inst)
    keep = cells.prob > 0
    ra, dec, prob = cells.ra[keep], cells.dec[keep], cells.raw[keep]
    when = Time([START + timedelta(minutes=10 * i) for i in range(24 * 6 + 1)])
    target = SkyCoord(ra * u.deg, dec * u.deg)
    anywhere = np.zeros(len(ra), bool)
    for site in lco.sites_for(inst):
        where = EarthLocation(lat=site.lat_deg * u.deg, lon=site.lon_deg * u.deg, height=site.elevation_m * u.m)
        frame = AltAz(obstime=when, location=where)
        sun = get_sun(when).transform_to(frame).alt.deg <= -12.0
        moon = get_body("moon", when, where)
        good = np.zeros((len(ra), len(when)), bool)
        for k in range(len(when)):
            alt = target.transform_to(frame[k]).alt.deg
            good[:, k] = sun[k] & (alt >= 30.0) & (moon[k].separation(target).deg >= 30.0)  # geocentric, as seen
        anywhere |= (good[:, :-1] & good[:, 1:]).any(axis=1)
    independent = float(prob[anywhere].sum())
    assert seen.probability == pytest.approx(independent, abs=0.005)  # measured: 0.9566 vs 0.9568
    assert 0.3 < seen.probability < 1.0 and seen.first is not None


def write_rules(path, *tables: str) -> str:
    path.write_text("\n".join(tables))
    return str(path)


@pytest.fixture
def world(tmp_path):
    rules = write_rules(tmp_path / "gwbot.toml", """
[[auto_plans]]
facility = "lco"
fields = 3
significant = true
min_observable = 0.0

[[auto_plans]]
facility = "ztf"
min_hasns = 0.5
""")
    with FakeSlack() as slack, FakeLCO(schedule_after=1.0, finish_after=600.0) as lco:
        slack.add_channel("gw-alerts")
        env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
               "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "GWBOT_ALERTS_CHANNEL": "gw-alerts",
               "LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal,
               "GWBOT_APPROVERS": f"{ALICE},S0FOLLOWUP", "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO,
               "GWBOT_CONFIG": rules, "GWBOT_FOLLOW_SECONDS": "3600"}
        bot = Bot(config.load(env))
        bot.start_background()
        try:
            yield slack, lco, bot
        finally:
            bot.shutdown()


def plans_of(bot, event_id: str) -> list[PlanRecord]:
    with bot.store.session() as s:
        return list(s.query(PlanRecord).filter(PlanRecord.event_id == event_id).order_by(PlanRecord.id))


@pytest.mark.slow
def test_a_significant_event_gets_verdicts_and_a_plan_with_no_command_typed_and_an_update_supersedes_it(world):
    slack, lco, bot = world
    bot.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-preliminary.json").read_bytes(), None, 0, 0))
    plan = wait_for(lambda: (lambda p: p and p[0])(plans_of(bot, "S241102br")), 60, "the automatic plan")
    assert plan.rule == "lco" and plan.status == "proposed" and plan.requested_by is None
    channel = "s241102br"
    for where in (channel, "gw-alerts"):  # the verdicts go into the summaries, in both channels
        summary = wait_for(lambda where=where: next((m for m in slack.messages(where) if not m.get("thread_ts")
                                                     and "followup" in json.dumps(m.get("blocks"))), None),
                           30, f"the verdicts in the summary in #{where}")
        flat = json.dumps(summary["blocks"], ensure_ascii=False)
        assert summary["text"].startswith("S241102br PRELIMINARY")
        assert "*LCO: GO — BBH 98%" in flat and "of the probability observable in the next 24 h" in flat
        assert "ZTF: NO — HasNS 9% (rule: ≥ 50%)" in flat  # the failing criterion, named
    message = wait_for(lambda: next((m for m in slack.messages(channel) if m.get("blocks")
                                     and "· plan for LCO" in m["blocks"][0]["text"]["text"]), None), 30, "plan post")
    assert "plan_approve" in json.dumps(message["blocks"]) and "follow-up rule `lco`" in json.dumps(message["blocks"])
    call = wait_for(lambda: next((m["text"] for m in slack.messages(channel) if m.get("thread_ts") == message["ts"]
                                  and "proposed by the follow-up rule" in m["text"]), None), 30, "the approvers' call")
    assert f"<@{ALICE}>" in call and "<!subteam^S0FOLLOWUP>" in call
    topic = wait_for(lambda: "LCO GO · ZTF NO" in (slack.channel(channel).topic or "") and slack.channel(channel).topic,
                     30, "the topic's short form")
    assert topic.startswith("PRELIMINARY")
    with bot.store.session() as s:
        stored = s.get_one(Event, "S241102br").verdicts
    assert [v["decision"] for v in stored] == ["GO", "NO"]

    update = json_bytes(variant("S241102br-initial.json", "S241102br", alert_type="UPDATE",
                                created="2024-11-02T15:00:00Z"))
    bot.pipeline.handle(RawMessage("igwn.gwalert", update, None, 0, 1))
    wait_for(lambda: len(plans_of(bot, "S241102br")) == 2, 60, "the next plan")
    first, second = plans_of(bot, "S241102br")
    assert first.status == "superseded" and second.status == "proposed" and second.rule == "lco"
    assert second.skymap_version > first.skymap_version
    assert lco.submissions == 0  # never submitted without a person's Approve


@pytest.mark.slow
def test_a_rule_with_auto_submit_submits_once_says_the_rule_decided_and_offers_cancel(tmp_path):
    rules = write_rules(tmp_path / "gwbot.toml", """
[[auto_plans]]
facility = "lco"
fields = 2
min_observable = 0.0
auto_submit = true
""")
    with FakeSlack() as slack, FakeLCO(schedule_after=60.0, finish_after=600.0) as lco:
        slack.add_channel("gw-alerts")
        bot = Bot(config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
                               "GWBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                               "LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal,
                               "GWBOT_APPROVERS": ALICE, "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO,
                               "GWBOT_CONFIG": rules}))
        bot.start_background()
        try:
            bot.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-preliminary.json").read_bytes(),
                                           None, 0, 0))
            wait_for(lambda: (lambda p: p and p[0].status == "submitted")(plans_of(bot, "S241102br")), 60,
                     "the rule's plan submitted")
            plan = plans_of(bot, "S241102br")[0]
            assert plan.decided_by == "rule:lco" and lco.submissions == 1
            shown = wait_for(lambda: next((m for m in slack.messages("s241102br") if m.get("blocks")
                                           and "plan_cancel" in json.dumps(m["blocks"])), None), 30, "Cancel offered")
            assert "approved by the rule `lco`" in json.dumps(shown["blocks"])
            thread = [m["text"] for m in slack.messages("s241102br") if m.get("thread_ts") == shown["ts"]]
            assert any("as its rule decided" in t for t in thread) or wait_for(
                lambda: any("as its rule decided" in m["text"] for m in slack.messages("s241102br")
                            if m.get("thread_ts") == shown["ts"]), 20, "the submission told")
        finally:
            bot.shutdown()


def test_gw_rules_and_gw_visibility(tmp_path):
    """/gw rules lists each rule and the verdicts of an event's latest map; /gw visibility draws what a facility can
    observe hour by hour; both parse their words and refuse wrong ones."""
    from bot.commands.answers import Answers
    from bot.commands.parse import UsageError, parse
    from bot.config import FollowupRule, PlanSettings, Rule
    from bot.plans.verdict import Decision, Verdict, verdict_to_json
    from bot.slack import blocks as bk
    from bot.store import Store
    from bot.store.events import SkymapVersion

    assert parse("rules").event_id is None and parse("rules S241102br").event_id == "S241102br"
    assert parse("visibility S241102br lco").rest == ("lco",)
    with pytest.raises(UsageError, match="name a facility"):
        parse("visibility S241102br")
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    verdict = Verdict("lco", Decision.GO, ("BBH 98%", "41% of the probability observable in the next 24 h"), (), 0.41,
                      (START, "lsc"))
    with store.session() as s:
        s.add(SkymapVersion(event_id="S241102br", alert_key="k", alert_type="INITIAL",
                            fits=skymap_bytes("S241102br-initial.json"), created=1.0))
        s.add(Event(event_id="S241102br", facts={}, verdicts=[verdict_to_json(verdict)]))
    rule = FollowupRule("lco", fields=3, criteria=Rule(significant=True, min_hasns=0.5), max_area90_deg2=500.0)
    answers = Answers(store, plans=PlanSettings(followup=(rule,)))
    with store.session() as s:
        event = s.get_one(Event, "S241102br")
    text, blocks = bk.rules_message(answers.rules(event))
    flat = json.dumps(blocks, ensure_ascii=False)
    assert "significant = True" in flat and "min_hasns = 0.5" in flat and "max_area90_deg2 = 500" in flat
    assert "LCO: GO — BBH 98%; 41% of the probability observable" in flat
    assert "No follow-up rules" in bk.rules_message(Answers(store).rules(None))[0]
    picture = answers.visibility(event, "lco", None)
    assert picture.data[:8] == b"\x89PNG\r\n\x1a\n" and "LCO" in picture.title
    with pytest.raises(UsageError):
        answers.visibility(event, "no-such-telescope", None)
    store.close()


@pytest.mark.slow
def test_an_approved_plan_is_not_planned_over_the_next_leaves_its_fields_out(world):
    slack, lco, bot = world
    bot.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-preliminary.json").read_bytes(), None, 0, 0))
    first = wait_for(lambda: (lambda p: p and p[0])(plans_of(bot, "S241102br")), 60, "the automatic plan")
    changed, _ = bot.plans.decide(first.id, ALICE, True)
    assert changed and bot.plans.submit(first.id).status == "submitted"
    wait_for(lambda: any(m.get("files") and "visibility" in m["files"][0].get("name", "")
                         for m in slack.messages("gw-alerts")), 30, "the visibility picture in the event's thread")
    update = json_bytes(variant("S241102br-initial.json", "S241102br", alert_type="UPDATE",
                                created="2024-11-02T15:00:00Z"))
    bot.pipeline.handle(RawMessage("igwn.gwalert", update, None, 0, 1))
    wait_for(lambda: len(plans_of(bot, "S241102br")) == 2, 60, "the next plan")
    first, second = plans_of(bot, "S241102br")
    assert first.status == "submitted" and second.status == "proposed"  # the approved one stays
    others = second.summary["others"]
    assert others is not None and any("(ours, plan" in name for name in others["instruments"])
    taken = {(round(f["ra_deg"], 6), round(f["dec_deg"], 6)) for f in first.summary["fields"]}
    again = [f for f in second.summary["fields"] if (round(f["ra_deg"], 6), round(f["dec_deg"], 6)) in taken]
    assert again == []  # what the first will observe is not planned again
