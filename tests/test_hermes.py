"""HERMES: a plan's report prepared from what was observed, checked by HERMES (its objections in words),
published once by an approver (across a lost answer), opened in HERMES's form; others' messages about an
event posted in its channel once, as data. Against tests/hermes_server.py, the local LCO portal and Treasure Map."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fakes.lco_server import FakeLCO
from helpers import slack_target
from hermes_server import FakeHermes
from test_coordination import ALICE, EVENT, SINISTRO_SIDE, SINISTRO_TM, World
from treasuremap_server import FakeTreasureMap, square_ccds

from bot.coordination import hermes_report
from bot.coordination.hermes import Hermes
from bot.coordination.hermes_feed import HermesFeed
from bot.coordination.hermes_report import Reports
from bot.slack import blocks as bk
from bot.store.candidates import CandidateRecord
from bot.store.coordination import HermesReport
from bot.store.events import Event

pytestmark = pytest.mark.slow  # local HTTP stand-ins (LCO, Treasure Map, HERMES): see README

BOB = "U0000BOB01"  # not an approver


class HermesWorld(World):
    def __init__(self, tmp, lco, tm, hermes: FakeHermes, database: str | None = None, **env: str) -> None:
        super().__init__(tmp, lco, tm, database, HERMES_API_URL=hermes.url, HERMES_API_TOKEN=hermes.token,
                         HERMES_AUTHORS="A. Astronomer (gwbot team)", **env)
        self.hermes = hermes
        self.reports = Reports(self.store, self.settings, self.plans.is_approver, self.plans.observed)
        self.outbox.senders["PublishHermes"] = hermes_report.handler(self.settings, self.reports)  # its world too
        with self.store.session() as s:
            merger = datetime.now(UTC) - timedelta(hours=6)  # an active event
            s.add(Event(event_id=EVENT, facts={"event_time": merger.isoformat()}, summary_channel="C0ALERTS"))

    def observed_plan(self, fields: int = 2, **request) -> int:
        plan_id = self.approved_plan(fields=fields, **request)
        self.plans.submit(plan_id)
        time.sleep(0.4)
        self.plans.follow()  # LCO: COMPLETED
        return plan_id

    def deliver(self, steps: int = 12) -> None:
        for _ in range(steps):
            self.outbox.step()

    def reports_posted(self) -> list:
        return [m for m in slack_target(self.outbox).messages if m.text.startswith("HERMES report")]


@pytest.fixture
def hw(tmp_path, request):
    env = getattr(request, "param", {})
    with FakeLCO(schedule_after=0.0, finish_after=0.3) as lco, FakeTreasureMap(events={EVENT}) as tm, \
            FakeHermes() as hermes:
        tm.add_instrument(SINISTRO_TM, "Sinistro", square_ccds(SINISTRO_SIDE, 2))
        w = HermesWorld(tmp_path, lco, tm, hermes, **env)
        yield w
        w.store.close()


def test_a_completed_plan_offers_the_report_button(hw):
    plan_id = hw.observed_plan()
    text, blocks = bk.plan_message(hw.plans.get(plan_id).view())
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert bk.PLAN_HERMES in actions


def test_the_report_holds_fields_depths_marked_candidates_and_pointings_and_hermes_accepts_it(hw):
    plan_id = hw.observed_plan(fields=2)
    with hw.store.session() as s:
        s.add(CandidateRecord(event_id=EVENT, broker="fink", object_id="ZTF24abcdefg", ra=345.0, dec=41.0,
                              first_mjd=60600.0, last_mjd=60600.1, map_version=1, credible_level=0.3,
                              density_per_deg2=1e-3, marked_by=ALICE))
    row = hw.reports.prepare(plan_id, ALICE, "C0PLAN", "1700000000.000100")
    m = row.message
    assert row.errors == [] and row.preload_key and m["topic"] == "hermes.test"
    assert m["authors"] == "A. Astronomer (gwbot team)" and m["data"]["event_id"] == EVENT
    names = [t["name"] for t in m["data"]["targets"]]
    assert names[0] == "ZTF24abcdefg" and f"{EVENT}-F001" in names
    limits = m["data"]["photometry"]
    assert len(limits) == 2 and {p["limiting_brightness_unit"] for p in limits} == {"AB mag"}
    assert all(p["limiting_brightness"] == pytest.approx(21.0) and p["bandpass"] == "r" for p in limits)
    assert len(m["data"]["extra_data"]["pointings"]) == 2
    hw.deliver()
    post = hw.reports_posted()[-1]
    assert post.thread_ts == "1700000000.000100"
    buttons = {e["action_id"]: e for b in post.blocks if b["type"] == "actions" for e in b["elements"]}
    assert bk.HERMES_PUBLISH in buttons and buttons["hermes_edit"]["url"] == \
        f"{hw.hermes.url[:-len('api/v0/')]}submit-message?id={row.preload_key}"


def test_a_revisit_is_reported_in_its_own_band(hw):
    plan_id = hw.observed_plan(fields=2, filters=("rp",), revisit="gp")
    summary = hw.plans.get(plan_id).summary
    revisits = [f for f in summary["fields"] if "revisit_of" in f]
    assert revisits
    limits = hw.reports.prepare(plan_id, ALICE, "C0PLAN", None).message["data"]["photometry"]
    assert sorted(p["bandpass"] for p in limits) == sorted(["r"] * 2 + ["g"] * len(revisits))


@pytest.mark.parametrize("hw", [{"HERMES_TOPIC": "hermes.gw-followup"}], indirect=True)
def test_hermes_objections_are_shown_in_words_and_nothing_can_be_published(hw):
    plan_id = hw.observed_plan()
    row = hw.reports.prepare(plan_id, ALICE, "C0PLAN", None)
    assert row.errors == ["topic: Hermes Dev can only submit to a test topic."]
    ok, text = hw.reports.publish(row.id, ALICE)
    assert not ok and "errors to fix" in text
    hw.deliver()
    post = hw.reports_posted()[-1]
    body = post.blocks[0]["text"]["text"]
    assert "HERMES objects" in body and "test topic" in body
    assert bk.HERMES_PUBLISH not in str(post.blocks)


def test_only_approvers_publish_and_a_report_is_published_once(hw):
    row = hw.reports.prepare(hw.observed_plan(), ALICE, "C0PLAN", None)
    assert hw.reports.publish(row.id, BOB) == (False, "Only the approvers set in GWBOT_APPROVERS may publish to "
                                                      "HERMES.")
    assert hw.reports.publish(row.id, ALICE)[0] is True
    assert hw.reports.publish(row.id, ALICE)[0] is False  # a second press
    hw.deliver()
    assert hw.hermes.submits == 1
    with hw.store.session() as s:
        done = s.get(HermesReport, row.id)
        assert done.status == "published" and done.uuid == hw.hermes.published[0]["uuid"]
    assert "Published to HERMES" in str(hw.reports_posted()[-1].blocks)


def test_a_5xx_after_publishing_is_retried_without_a_second_message(hw):
    row = hw.reports.prepare(hw.observed_plan(), ALICE, "C0PLAN", None)
    hw.hermes.lose_answers = 1
    hw.reports.publish(row.id, ALICE)
    hw.deliver()  # published, but the answer was a 502
    with hw.store.session() as s:
        assert s.get(HermesReport, row.id).status == "publishing"
    hw.now[0] += 3600
    hw.deliver()  # looked up by the report's reference before anything is sent again
    assert hw.hermes.submits == 1 and len(hw.hermes.published) == 1
    with hw.store.session() as s:
        assert s.get(HermesReport, row.id).uuid == hw.hermes.published[0]["uuid"]


def test_without_a_scimma_credential_nothing_is_published_and_it_says_why(hw):
    hw.hermes.credential = False
    row = hw.reports.prepare(hw.observed_plan(), ALICE, "C0PLAN", None)
    hw.reports.publish(row.id, ALICE)
    hw.deliver()
    with hw.store.session() as s:
        done = s.get(HermesReport, row.id)
        assert done.status == "failed" and "SCIMMA auth credential" in done.note
    assert hw.hermes.published == []


def test_others_messages_are_posted_once_as_data_and_ours_not_at_all(hw):
    feed = HermesFeed(hw.store, hw.settings, hw.maps, clock=lambda: hw.now[0])
    hw.hermes.publish_other(EVENT, "<!channel> ZTF finds <https://evil.example|a candidate>",
                            "Text with <@U12345> and *bold*", authors="Team <!here>")
    hw.hermes.publish_other("S000000zz", "another event", "not ours")
    row = hw.reports.prepare(hw.observed_plan(), ALICE, "C0PLAN", None)
    hw.reports.publish(row.id, ALICE)
    hw.deliver()
    assert feed.read_due() == 1
    hw.now[0] += 10_000
    assert feed.read_due() == 0  # seen already
    hw.deliver()
    posted = [m for m in slack_target(hw.outbox).messages if m.text.startswith("HERMES:")]
    assert len(posted) == 1
    shown = str(posted[0].blocks)
    assert "<!channel>" not in shown and "<@U12345>" not in shown and "<!here>" not in shown
    assert "<https://evil.example" not in shown and "&lt;!channel&gt;" in shown


def test_the_client_reads_paged_message_lists(hw):
    for i in range(230):
        hw.hermes.publish_other(EVENT, f"m{i}", "")
    assert len(Hermes(hw.hermes.url, hw.hermes.token).event_messages(EVENT)) == 230


def test_candidates_are_marked_once_for_the_report_from_their_detail_button(hw):
    from bot.commands.answers import Answers
    from bot.commands.records import CandidateLine

    with hw.store.session() as s:
        s.add(CandidateRecord(event_id=EVENT, broker="fink", object_id="ZTF24xyz", ra=1.0, dec=2.0, first_mjd=1.0,
                              last_mjd=1.0, map_version=1, credible_level=0.2, density_per_deg2=1.0))
    line = CandidateLine(EVENT, "fink", "ZTF24xyz", None, 1.0, 2.0, 0.2, 1.0, None, None, None, 0.1, 1.0, None,
                         None, None, True, 1)
    _, blocks = bk.candidate_detail(line, ["inside the 20% region"])
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == bk.CANDIDATE_MARK)
    assert button["action_id"] == bk.CANDIDATE_MARK
    answers = Answers(hw.store, hw.maps)
    assert bk.marked_text(answers.mark_candidate(*button["value"].split("|"), ALICE)).startswith("Marked ZTF24xyz")
    assert "already marked by <@U0000ALICE>" in bk.marked_text(answers.mark_candidate(*button["value"].split("|"),
                                                                                      BOB))


def test_interesting_candidates_go_into_the_report_with_their_light_curves(hw):
    """A candidate voted Interesting (not marked by the button) is a target with its photometry: detections with
    brightness and error, limits as limiting_brightness; HERMES's own validation accepts it. A rejected one is
    left out."""
    from sqlalchemy import select

    from bot.brokers.record import Point
    from bot.candidates.vetting import Vote, vote
    from bot.store.candidates import CandidateEvidence
    from bot.vetting import Status

    plan_id = hw.observed_plan(fields=1)
    curve = [Point(60600.1, "g", 19.5, 0.05, False, "fink", "ZTF"),
             Point(60600.9, "r", 20.4, 0.08, False, "fink", "ZTF"),
             Point(60599.9, "r", 20.8, None, True, "fink", "ZTF")]
    with hw.store.session() as s:
        for name in ("ZTF24kilonova", "ZTF24rock"):
            s.add(CandidateRecord(event_id=EVENT, broker="fink", object_id=name, ra=345.0, dec=41.0,
                                  first_mjd=60600.1, last_mjd=60600.9, map_version=1, credible_level=0.3,
                                  density_per_deg2=1e-3))
            s.add(CandidateEvidence(broker="fink", object_id=name, photometry=[p.to_json() for p in curve]))
        s.flush()
        ids = {r.object_id: r.id for r in s.scalars(select(CandidateRecord))}
    vote(hw.store, Vote(ids["ZTF24kilonova"], ALICE, Status.INTERESTING))
    vote(hw.store, Vote(ids["ZTF24rock"], BOB, Status.REJECTED, "asteroid"))
    row = hw.reports.prepare(plan_id, ALICE, "C0PLAN", None)
    m = row.message
    assert row.errors == []  # the stand-in applies HERMES's serializer rules to every photometry row
    assert [t["name"] for t in m["data"]["targets"]][0] == "ZTF24kilonova"
    assert "ZTF24rock" not in str(m["data"]) and "ZTF24kilonova (Interesting)" in m["message_text"]
    rows = [p for p in m["data"]["photometry"] if p["target_name"] == "ZTF24kilonova"]
    assert [(p.get("brightness"), p.get("brightness_error"), p.get("limiting_brightness"), p["bandpass"])
            for p in sorted(rows, key=lambda p: p["date_obs"])] == [(None, None, 20.8, "r"), (19.5, 0.05, None, "g"),
                                                                    (20.4, 0.08, None, "r")]
    assert {p["instrument"] for p in rows} == {"ZTF"}
