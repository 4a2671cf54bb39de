"""The whole bot with Treasure Map and HERMES configured, driven from Slack: approving a plan shares its
fields with Treasure Map, LCO observing them completes them there, the plan offers a HERMES report that an
approver publishes, and /gw coverage draws everyone's footprints. Local stand-ins for Slack, LCO, Treasure Map
and HERMES."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from conftest import data_file
from fakes.lco_server import FakeLCO
from fakes.slack_server import FakeSlack
from helpers import wait_for
from hermes_server import FakeHermes
from test_commands import command
from test_plan_flow import ALICE, click, make_bot, plan_id_of, propose, row
from treasuremap_server import FakeTreasureMap, square_ccds

from bot.events.pipeline import RawMessage

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

EVENT = "S241102br"
SINISTRO_TM = 71


def config_with_treasuremap_ids(path) -> str:
    """GWBOT_CONFIG holding LCO's built-in facility with Sinistro's Treasure Map id, as a team would write it."""
    text = (resources.files("bot.plans") / "data" / "lco.toml").read_text()
    text = text.replace('name = "1M0-SCICAM-SINISTRO"', f'name = "1M0-SCICAM-SINISTRO"\ntreasuremap_instrument_id = '
                                                          f'{SINISTRO_TM}')
    text = "[[facilities]]\n" + text.replace("[[sites]]", "[[facilities.sites]]") \
        .replace("[[instruments]]", "[[facilities.instruments]]").replace("[limits]", "[facilities.limits]")
    path.write_text(text)
    return str(path)


@pytest.fixture
def world(tmp_path):
    with FakeSlack() as slack, FakeLCO(schedule_after=0.5, finish_after=1.5) as lco, \
            FakeTreasureMap(events={EVENT}) as tm, FakeHermes() as hermes:
        slack.add_channel("gw-alerts")
        slack.add_channel("followup")
        tm.add_instrument(SINISTRO_TM, "Sinistro", square_ccds(0.4417, 2))
        bot, server, url = make_bot(slack, lco, tmp_path, TREASUREMAP_API_URL=tm.url, GWBOT_EDIT_EVERY_SECONDS="0.5",
                                    TREASUREMAP_API_TOKEN="tm-test-token", HERMES_API_URL=hermes.url,
                                    HERMES_API_TOKEN=hermes.token, HERMES_AUTHORS="The gwbot team",
                                    GWBOT_CONFIG=config_with_treasuremap_ids(tmp_path / "gwbot.toml"))
        bot.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-preliminary.json").read_bytes(), None,
                                       0, 0))
        assert bot.outbox.drain(60)
        world = {"slack": slack, "lco": lco, "bot": bot, "url": url, "tmp": tmp_path, "server": server, "tm": tm,
                 "hermes": hermes}
        yield world
        world["server"].shutdown()
        world["bot"].shutdown()


def test_approve_observe_report_and_coverage_from_slack(world):
    slack, tm, hermes = world["slack"], world["tm"], world["hermes"]
    message = propose(world, "plan S241102br lco sinistro --fields 3")
    plan_id = plan_id_of(message)
    click(world, message, "plan_approve", ALICE)
    wait_for(lambda: len(tm.of(EVENT)) == 3, 20, "three planned pointings on Treasure Map")
    wait_for(lambda: row(world, plan_id).status == "done", 30, "LCO observed the fields")
    wait_for(lambda: {p["status"] for p in tm.of(EVENT)} == {"completed"}, 20, "completed on Treasure Map")
    assert len(tm.of(EVENT)) == 3  # completed by id, not added again

    shown = wait_for(lambda: next((m for m in slack.messages("followup") if m["ts"] == message["ts"]
                                   and "plan_hermes_prepare" in json.dumps(m["blocks"])), None), 20,
                     "the Prepare HERMES report button")
    click(world, shown, "plan_hermes_prepare", ALICE)
    report = wait_for(lambda: next((m for m in slack.messages("followup") if m.get("thread_ts") == message["ts"]
                                    and "hermes_publish" in json.dumps(m.get("blocks", []))), None), 30,
                      "the report, with Publish")
    assert "HERMES accepts it" in json.dumps(report["blocks"])
    click(world, report, "hermes_publish", ALICE)
    click(world, report, "hermes_publish", ALICE)  # a second press publishes nothing more
    wait_for(lambda: len(hermes.published) == 1, 20, "published to HERMES")
    published = hermes.published[0]["message"]
    assert published["data"]["event_id"] == EVENT and len(published["data"]["photometry"]) == 3
    wait_for(lambda: any("Published to HERMES" in json.dumps(m.get("blocks", []))
                         for m in slack.messages("followup") if m.get("thread_ts") == message["ts"]), 20,
             "the report marked published")
    assert hermes.submits == 1

    command(world, "coverage S241102br", channel="followup")
    posted = wait_for(lambda: next((m for m in slack.messages("followup") if "coverage on Treasure Map"
                                    in json.dumps(m.get("blocks", []))), None), 30, "the coverage message")
    assert "3 pointings (3 ours) by 1 instruments: Sinistro 3" in json.dumps(posted["blocks"])
    wait_for(lambda: any(m.get("files") and "coverage" in json.dumps(m["files"]) for m in slack.messages("followup")),
             30, "the coverage picture")
