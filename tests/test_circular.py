"""GCN Circular drafts: what a plan observed (completed, not planned) on the latest map, the candidates the team
marked, edited with who edited, sent once through HERMES with submit_to_gcn. Against the local LCO portal,
Treasure Map and HERMES stand-ins (tests/fakes/lco_server.py, tests/treasuremap_server.py, tests/hermes_server.py);
the /gw circular command itself runs against the Slack stand-in in test_commands.py."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.lco_server import FakeLCO
from helpers import slack_target
from hermes_server import FakeHermes
from test_coordination import ALICE, EVENT, SINISTRO_SIDE, SINISTRO_TM
from test_hermes import BOB, HermesWorld
from treasuremap_server import FakeTreasureMap, square_ccds

from bot.brokers.record import Point
from bot.candidates.vetting import Vote, vote
from bot.delivery.actions import Channel, Thread
from bot.reporting.circular import MAX_LINES, Campaign, Observation, Reported, write
from bot.reporting.drafts import Circulars
from bot.store.candidates import CandidateEvidence, CandidateRecord
from bot.store.events import SkymapVersion
from bot.store.reporting import CircularRecord
from bot.vetting import Status

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_plan import independent_coverage  # noqa: E402  (healpy + ligo.skymap: not gwbot's code)

pytestmark = pytest.mark.slow  # local HTTP stand-ins

THREAD = Thread(ts="1700000000.000100")


class CircularWorld(HermesWorld):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.circulars = Circulars(self.store, self.settings, self.maps, self.coverage, self.plans.observed,
                                   self.plans.is_approver)
        self.outbox.senders["SendCircular"] = self.circulars.sender()

    def draft(self, **kw) -> CircularRecord:
        circular_id = self.circulars.draft(EVENT, ALICE, Channel(name="C0PLAN"), THREAD, **kw)
        row = self.circulars.get(circular_id)
        assert row is not None
        return row

    def posted(self, starts: str) -> list:
        return [m for m in slack_target(self.outbox).messages if m.text.startswith(starts)]


def _world(tmp_path, lco, hermes: FakeHermes | None = None, **env):
    tm = FakeTreasureMap(events={EVENT})
    tm.__enter__()
    tm.add_instrument(SINISTRO_TM, "Sinistro", square_ccds(SINISTRO_SIDE, 2))
    if hermes is None:
        return CircularWorld(tmp_path, lco, tm, FakeHermes(), **env), tm
    return CircularWorld(tmp_path, lco, tm, hermes, **env), tm


@pytest.fixture
def cw(tmp_path):
    with FakeLCO(schedule_after=0.0, finish_after=0.3, expire_every=3) as lco, FakeHermes() as hermes:
        w, tm = _world(tmp_path, lco, hermes, GWBOT_CIRCULAR_AUTHORS="A. Astronomer, B. Observer (gwbot team)")
        yield w
        w.store.close()
        tm.__exit__(None, None, None)


def _percent(body: str, what: str) -> float:
    return float(re.search(rf"([0-9.]+)% of {what}", body).group(1))  # type: ignore[union-attr]


def test_a_plan_observed_in_part_gives_the_numbers_an_independent_computation_gives(cw):
    """Every third request's window expires at the stand-in: the draft counts only the completed fields, their
    time span, and the probability their union holds on the named map (judged here by healpy's query_polygon on
    ligo.skymap's rasterization: not gwbot's code)."""
    plan_id = cw.observed_plan(fields=9)
    plan = cw.plans.get(plan_id)
    states = plan.request_states
    assert sorted(set(states.values())) == ["COMPLETED", "WINDOW_EXPIRED"]
    ids = plan.summary["request_ids"]
    fields = {int(f["rank"]): f for f in plan.summary["fields"]}
    done = [fields[rank] for rank, rid in enumerate(ids, 1) if states[rid] == "COMPLETED"]
    assert 0 < len(done) < len(ids)
    row = cw.draft()
    body = row.body
    assert row.subject == f"LIGO/Virgo/KAGRA {EVENT}: Las Cumbres Observatory optical follow-up"
    assert body.startswith("A. Astronomer, B. Observer (gwbot team) report:")
    assert f": {len(done)} fields in rp (300 s each)" in body
    with cw.store.session() as s:
        fits = s.query(SkymapVersion).one().fits
    judged = independent_coverage(fits, [(f["ra_deg"], f["dec_deg"]) for f in done], (SINISTRO_SIDE, SINISTRO_SIDE))
    said = _percent(body, "the probability")
    assert said == pytest.approx(100 * judged, abs=0.06), (said, judged)
    # the completed span: as the portal says, each completed request's observation starts at its window's start
    portal = [r for group_id in cw.lco.groups for r in cw.lco.view(group_id)["requests"]]
    completed = [r for r in portal if r["state"] == "COMPLETED"]
    assert {str(r["id"]) for r in completed} == {rid for rid in ids if states[rid] == "COMPLETED"}
    starts = sorted(datetime.fromisoformat(r["windows"][0]["start"].replace("Z", "+00:00")).timestamp()
                    for r in completed)
    first, last = (datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") for t in (starts[0], starts[-1]))
    assert f"{first} to {last} UTC" in body, body
    assert "rp 21.0 (estimated from the exposure time; no limits were measured on the frames)" in body
    assert "This work makes use of observations from the Las Cumbres Observatory global telescope network." in body
    assert "not included in these numbers" in body  # others' coverage is never claimed
    assert "the sky map (INITIAL alert" in body or "multiorder.fits (INITIAL alert" in body
    cw.deliver()
    draft = cw.posted("GCN Circular draft")
    assert draft and draft[0].thread_ts == THREAD.ts
    uploads = {name: thread for _, name, thread in slack_target(cw.outbox).uploads}
    assert uploads[f"{EVENT}-circular-v1.md"] == uploads[f"{EVENT}-circular.png"] == THREAD.ts


def test_a_planned_only_plan_gives_no_observation_line(cw):
    cw.approved_plan(fields=3)  # approved, never submitted: nothing observed
    row = cw.draft()
    assert "We have not completed any observation" in row.body and "fields in" not in row.body
    assert "optical follow-up" in row.subject


def _candidate(cw, name: str) -> int:
    curve = [Point(60600.1, "g", 19.5, 0.05, False, "fink", "ZTF"), Point(60600.9, "r", 20.4, 0.08, False, "fink",
                                                                          "ZTF")]
    with cw.store.session() as s:
        row = CandidateRecord(event_id=EVENT, broker="fink", object_id=name, ra=345.0, dec=41.0, first_mjd=60600.1,
                              last_mjd=60600.9, map_version=1, credible_level=0.3, density_per_deg2=1e-3)
        s.add(row)
        s.add(CandidateEvidence(broker="fink", object_id=name, photometry=[p.to_json() for p in curve]))
        s.flush()
        return row.id


def test_candidates_appear_only_when_marked(cw):
    cw.observed_plan(fields=3)
    kept, other = _candidate(cw, "ZTF24kilonova"), _candidate(cw, "ZTF24nothing")
    assert "ZTF24" not in cw.draft().body and "and candidates" not in cw.draft().subject
    vote(cw.store, Vote(kept, ALICE, Status.INTERESTING))
    vote(cw.store, Vote(other, BOB, Status.REJECTED, "asteroid"))
    row = cw.draft()
    assert row.subject.endswith("optical follow-up and candidates")
    table = [line for line in row.body.splitlines() if line.startswith("| ZTF24")]
    assert len(table) == 1 and "ZTF24kilonova" in table[0] and "20.40 +/- 0.08" in table[0] and "| r |" in table[0]
    assert "ZTF24nothing" not in row.body
    assert "ZTF24nothing (asteroid)" in cw.draft(with_rejected=True).body


def test_edited_then_sent_twice_is_one_hermes_message_on_to_gcn(cw):
    cw.observed_plan(fields=3)
    row = cw.draft()
    assert cw.circulars.edit(row.id, BOB, row.subject, row.body + "\nWe thank the night staff.") == \
        "Kept as version 2."
    edited = cw.circulars.get(row.id)
    assert (edited.version, edited.edited_by) == (2, BOB)
    assert cw.circulars.send(row.id, BOB) == (False, "Only the approvers set in GWBOT_APPROVERS may send a circular.")
    assert cw.circulars.send(row.id, ALICE)[0] is True
    assert cw.circulars.send(row.id, ALICE)[0] is False  # a second press
    cw.hermes.lose_answers = 1  # HERMES publishes, the answer is lost: looked up, not sent again
    for _ in range(20):
        cw.deliver(1)
        if cw.circulars.get(row.id).status == "sent":
            break
        cw.now[0] += 600  # past the outbox's back-off
        time.sleep(0.05)
    assert cw.hermes.submits == 1 and len(cw.hermes.circulars) == 1
    sent = cw.hermes.circulars[0]
    assert sent["subject"] == row.subject and sent["body"].startswith(row.body + "\nWe thank the night staff.")
    stored = cw.hermes.published[0]["message"]
    assert "submit_to_gcn" not in stored and stored["authors"].startswith("A. Astronomer")
    done = cw.circulars.get(row.id)
    assert (done.status, done.gcn_id) == ("sent", "40001")
    cw.deliver()
    assert "GCN Circular 40001" in str(cw.posted("Circular")[-1].blocks)


def test_hermes_objections_are_said_in_words(tmp_path):
    with FakeLCO(schedule_after=0.0, finish_after=0.3) as lco, FakeHermes(gcn_linked=False) as hermes:
        w, tm = _world(tmp_path, lco, hermes, GWBOT_CIRCULAR_AUTHORS="A. Astronomer")
        try:
            w.observed_plan(fields=2)
            row = w.draft()
            assert w.circulars.send(row.id, ALICE)[0]
            w.deliver()
            back = w.circulars.get(row.id)
            assert back.status == "draft" and "Must register a valid GCN account" in back.problem
            said = str(w.posted("Circular draft")[-1].blocks)
            assert "Must register a valid GCN account on your Profile page" in said and "<a href" not in said
            assert hermes.submits == 0
        finally:
            w.store.close()
            tm.__exit__(None, None, None)


def test_without_hermes_the_draft_says_how_to_submit_at_gcn(tmp_path):
    with FakeLCO(schedule_after=0.0, finish_after=0.3) as lco:
        w, tm = _world(tmp_path, lco)
        try:
            w.settings = w.settings.replace(hermes_api_token=None)
            w.circulars.settings = w.settings
            w.observed_plan(fields=2)
            row = w.draft()
            ok, said = w.circulars.send(row.id, ALICE)
            assert not ok and "https://gcn.nasa.gov/circulars/new" in said
            w.deliver()
            blocks = str(w.posted("GCN Circular draft")[-1].blocks)
            assert "gcn.nasa.gov/circulars/new" in blocks and "circular_send" not in blocks
        finally:
            w.store.close()
            tm.__exit__(None, None, None)


def test_five_hundred_fields_and_forty_candidates_stay_under_sixty_lines():
    """GCN's length rule: every section is bounded (one line per instrument, ten candidates, the rest in a CSV)."""
    t0 = 1.7e9
    observations = [Observation("Las Cumbres Observatory", "1M0-SCICAM-SINISTRO", 500, ("gp", "rp"), 300, t0,
                                t0 + 86400, 0.62, 0.41, {"gp": (21.2, 20.9, 21.4), "rp": (21.0, 20.8, 21.1)}, True,
                                "This work makes use of observations from the Las Cumbres Observatory."),
                    Observation("Zwicky Transient Facility", "ZTF", 120, ("g", "r"), 30, t0, t0 + 7200, 0.8, 0.7,
                                {"g": (20.5, 20.1, 20.8)}, True)]
    candidates = [Reported(f"ZTF24cand{i:03d}", 10 + i * 0.01, -5, t0 + 3600, 19.5, 0.05, "r", "fink", "fades fast")
                  for i in range(40)]
    draft = write(Campaign("S230918aq", t0 - 3600, "bayestar.multiorder.fits (PRELIMINARY alert, ...)", observations,
                           candidates, candidates[:25], 0.85, 0.72), "A. Astronomer")
    lines = draft.body.splitlines()
    assert len(lines) <= MAX_LINES
    assert "500 fields" in draft.body and "... and 30 more, listed in the attached table." in draft.body
    assert draft.csv is not None and draft.csv.count("\n") == 41  # header + every candidate
    assert "Together these fields cover 85.0% of the probability" in draft.body
