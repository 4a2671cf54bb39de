"""Treasure Map: approved plans shared as planned pointings once (across lost answers and crashes), completed
by id when the facility observes, cancelled when they will not be; others' coverage read, rasterized and
subtracted from plans. Against the local LCO portal and the Treasure Map stand-in (tests/treasuremap_server.py)."""

from __future__ import annotations

import json
import time
import tomllib
from datetime import UTC, datetime
from importlib import resources

import numpy as np
import pytest
from conftest import skymap_bytes
from fakes.lco_server import FakeLCO
from fakes.target import MemoryTarget
from treasuremap_server import FakeTreasureMap, square_ccds

from bot import config
from bot.coordination import footprint as fp
from bot.coordination import sharing
from bot.coordination.coverage import CoverageBook
from bot.coordination.treasuremap import Status, TreasureMap
from bot.events.maps import MapCache
from bot.plans.lifecycle import PlanBook
from bot.plans.planner import in_field, sample_points
from bot.plans.request import PlanRequest
from bot.plans.status import PlanStatus
from bot.slack import blocks as bk
from bot.slack.sender import slack_outbox
from bot.store import Store
from bot.store.coordination import SharedPointing
from bot.store.delivery import Delivery
from bot.store.events import SkymapVersion
from bot.store.plans import PlanRecord

pytestmark = pytest.mark.slow  # local HTTP stand-ins (LCO, Treasure Map, HERMES): see README

EVENT = "S241102br"
ALICE = "U0000ALICE"
SINISTRO_TM = 71  # Treasure Map id we give LCO's Sinistro in these tests
SINISTRO_SIDE = 0.4417


def lco_with_treasuremap_ids() -> dict:
    doc = tomllib.loads((resources.files("bot.plans") / "data" / "lco.toml").read_text())
    for inst in doc["instruments"]:
        if inst["name"] == "1M0-SCICAM-SINISTRO":
            inst["treasuremap_instrument_id"] = SINISTRO_TM
    return doc


class World:
    def __init__(self, tmp, lco: FakeLCO, tm: FakeTreasureMap, database: str | None = None, **env: str) -> None:
        self.now = [time.time()]
        self.store = Store(database or f"sqlite:///{tmp / 'coord.sqlite'}")
        with self.store.session() as s:
            s.add(SkymapVersion(event_id=EVENT, alert_key="k", alert_type="INITIAL",
                                fits=skymap_bytes("S241102br-initial.json"), created=1.0))
        self.settings = config.load({"GWBOT_APPROVERS": ALICE, "HOP_AUTH": "false", "LCO_API_URL": lco.url,
                                     "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal,
                                     "TREASUREMAP_API_URL": tm.url, "TREASUREMAP_API_TOKEN": "tm-test-token", **env},
                                    facility_tables=(lco_with_treasuremap_ids(),))
        self.maps = MapCache(self.store)
        self.coverage = CoverageBook(self.store, self.settings, self.maps, clock=lambda: self.now[0])
        self.plans = PlanBook(self.store, self.settings, self.maps, coverage=self.coverage)
        self.services = {"ShareWithTreasureMap": sharing.handler(self.settings, lambda: self.now[0])}
        self.target = MemoryTarget()
        self.outbox = slack_outbox(self.store, self.target, clock=lambda: self.now[0], services=self.services)
        self.tm = tm
        self.lco = lco

    def share(self, steps: int = 1) -> None:
        """Run the outbox's Treasure Map lane ``steps`` times (other lanes go too)."""
        for _ in range(steps):
            self.outbox.step()

    def approved_plan(self, fields: int = 4, **request) -> int:
        row, _ = self.plans.propose(EVENT, PlanRequest("lco", fields=fields, hours=24, **request), ALICE, "C0PLAN")
        assert row.status == PlanStatus.PROPOSED, row.summary["validation_errors"]
        assert self.plans.decide(row.id, ALICE, True)[0]
        return row.id

    def rows(self, plan_id: int) -> list[SharedPointing]:
        with self.store.session() as s:
            return list(s.query(SharedPointing).filter_by(plan_id=plan_id).order_by(SharedPointing.rank))


@pytest.fixture
def world(tmp_path):
    with FakeLCO(schedule_after=0.0, finish_after=0.3) as lco, FakeTreasureMap(events={EVENT}) as tm:
        tm.add_instrument(SINISTRO_TM, "Sinistro", square_ccds(SINISTRO_SIDE, 2))
        w = World(tmp_path, lco, tm)
        yield w
        w.store.close()


def test_an_approved_plan_is_shared_once_as_planned_pointings_with_band_depth_and_naive_times(world):
    plan_id = world.approved_plan(fields=4)
    world.share()
    mine = world.tm.of(EVENT)
    assert len(mine) == 4 and {p["status"] for p in mine} == {"planned"}
    assert {p["band"] for p in mine} == {"r"} and {p["depth_unit"] for p in mine} == {"ab_mag"}
    assert all(p["time"].tzinfo is None for p in mine)  # naive UTC, so Treasure Map can spot a repeat
    rows = world.rows(plan_id)
    assert sorted(r.tm_id for r in rows) == sorted(p["id"] for p in mine)
    assert all(r.reported == "planned" and r.depth_estimated for r in rows)
    for _ in range(3):  # nothing outstanding: nothing more is sent
        world.share()
    assert world.tm.posts == 1 and len(world.tm.of(EVENT)) == 4


def test_a_plan_with_revisits_shares_each_visit_in_its_own_band(world):
    plan_id = world.approved_plan(fields=3, filters=("rp",), revisit="gp")
    world.share()
    mine = world.tm.of(EVENT)
    with world.store.session() as s:
        summary = s.get_one(PlanRecord, plan_id).summary
    revisits = [f for f in summary["fields"] if "revisit_of" in f]
    assert revisits and len(mine) == 3 + len(revisits) == len(summary["fields"])
    by_band = {band: sorted((round(p["ra"], 4), round(p["dec"], 4)) for p in mine if p["band"] == band)
               for band in ("r", "g")}
    assert len(by_band["r"]) == 3 and set(by_band["g"]) <= set(by_band["r"])  # the same fields again, in g


def test_a_lost_answer_and_a_crash_mid_send_do_not_share_twice(world):
    world.tm.lose_answers = 1  # stored, then a 502: the outcome is unknown to us
    plan_id = world.approved_plan(fields=3)
    world.share()
    assert len(world.tm.of(EVENT)) == 3 and all(r.tm_id is None for r in world.rows(plan_id))
    world.now[0] += 600
    world.share()  # Treasure Map answers "already submitted" for all three: their ids are found by what they are
    assert len(world.tm.of(EVENT)) == 3
    assert sorted(r.tm_id for r in world.rows(plan_id)) == sorted(p["id"] for p in world.tm.of(EVENT))

    second = world.approved_plan(fields=2, filters=("gp",))
    with world.store.session() as s:  # the process died with the delivery in flight
        d = s.query(Delivery).filter_by(kind="ShareWithTreasureMap", status="pending").one()
        d.status = "in_flight"
    world.tm.lose_answers = 1
    world.share()  # nothing: in flight elsewhere
    world.outbox.recover()
    world.share()
    world.now[0] += 600
    world.share()
    assert len(world.tm.of(EVENT)) == 5 and all(r.tm_id for r in world.rows(second))


def test_observed_fields_are_completed_by_id_and_the_rest_cancelled_when_the_plan_ends(world):
    plan_id = world.approved_plan(fields=2)
    world.share()
    planned = {p["id"]: dict(p) for p in world.tm.of(EVENT)}
    world.plans.submit(plan_id)
    time.sleep(0.4)
    world.plans.follow()  # LCO: both requests COMPLETED
    world.share()
    done = world.tm.of(EVENT)
    assert {p["id"] for p in done} == set(planned) and {p["status"] for p in done} == {"completed"}
    for p in done:  # completed by id: band and depth are the planned pointing's, the time is the observation's
        assert p["band"] == planned[p["id"]]["band"] and p["depth"] == planned[p["id"]]["depth"]
    with world.store.session() as s:
        rows = s.query(SharedPointing).filter_by(plan_id=plan_id).all()
        assert all(r.observed_time is not None and r.reported == "completed" for r in rows)


def test_expired_requests_and_failed_plans_cancel_their_pointings(world):
    world.lco.outcome = "WINDOW_EXPIRED"
    plan_id = world.approved_plan(fields=2)
    world.share()
    world.plans.submit(plan_id)
    time.sleep(0.4)
    world.plans.follow()  # LCO: both windows expired
    world.share()
    assert [p["status"] for p in world.tm.of(EVENT)] == ["cancelled", "cancelled"]

    failed = world.approved_plan(fields=2, filters=("ip",))
    world.share()
    world.lco.proposal = "LCO-NOT-OURS"  # LCO now refuses the submission for good
    assert world.plans.submit(failed).status == PlanStatus.FAILED
    world.share()
    assert [p["status"] for p in world.tm.of(EVENT) if p["band"] == "i"] == ["cancelled", "cancelled"]
    assert all(r.reported == "cancelled" for r in world.rows(failed))


def test_an_event_treasure_map_does_not_know_yet_is_retried_until_it_does(world):
    world.tm.events.clear()
    plan_id = world.approved_plan(fields=2)
    world.share()
    with world.store.session() as s:
        d = s.query(Delivery).filter_by(kind="ShareWithTreasureMap").one()
        assert d.status == "pending" and "does not know" in d.last_error and d.not_before >= world.now[0] + 500
    world.tm.events.add(EVENT)  # Treasure Map ingested the LVK alert
    world.now[0] += 601
    world.share()
    assert len(world.tm.of(EVENT)) == 2 and all(r.reported == "planned" for r in world.rows(plan_id))


def test_the_client_sends_the_token_header_and_reads_without_one(world):
    with pytest.raises(Exception, match="401"):
        TreasureMap(world.tm.url, token="wrong").post(EVENT, [])
    assert TreasureMap(world.tm.url).pointings(EVENT) == []


# --- footprints and coverage ---------------------------------------------------------------------------

def treasuremap_project(footprint, ra, dec, pos_angle):
    """Treasure Map's own projection, as written in gwtm @ c7a124ff : server/utils/geometry.py (np.matrix
    products, one vertex at a time): the reference our vectorised placement must agree with."""
    def x_rot(t):
        t = np.deg2rad(t)
        return np.matrix([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])

    def y_rot(t):
        t = np.deg2rad(t)
        return np.matrix([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])

    def z_rot(t):
        t = np.deg2rad(t)
        return np.matrix([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])

    out = []
    for r0, d0 in footprint:
        phi, theta = np.deg2rad(90 - d0), np.deg2rad(r0)
        vec = np.asarray([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])
        x, y, z = (vec @ x_rot(-pos_angle) @ y_rot(dec) @ z_rot(-ra)).flat
        t = np.arctan2(y, x)
        out.append(((np.rad2deg(t) + 360) % 360, 90 - np.rad2deg(np.arccos(z))))
    return np.array(out)


@pytest.mark.parametrize("ra,dec,pa", [(10.0, 20.0, 0.0), (359.9, -45.0, 33.0), (180.0, 80.0, 120.0)])
def test_footprints_are_placed_as_treasure_map_places_them(ra, dec, pa):
    ccd = np.array([[0.1, -0.3], [0.5, -0.3], [0.5, 0.2], [0.1, 0.2]])
    ours = fp.outline(ccd, ra, dec, pa)
    theirs = treasuremap_project(ccd, ra, dec, pa)
    d_ra = (ours[:, 0] - theirs[:, 0] + 180) % 360 - 180
    assert np.allclose(d_ra * np.cos(np.deg2rad(theirs[:, 1])), 0, atol=1e-9)
    assert np.allclose(ours[:, 1], theirs[:, 1], atol=1e-9)


def test_covered_sky_is_the_footprint_and_nothing_else():
    ccds = [np.array([[-0.25, -0.25], [0.25, -0.25], [0.25, 0.25], [-0.25, 0.25]])]
    order = fp.order_for(ccds)
    region = fp.Region.of_pixels(order, fp.covered_pixels(ccds, [30.0], [-10.0], [0.0], order)[1])
    assert region.area_deg2 == pytest.approx(0.25, rel=0.1)
    rng = np.random.default_rng(1)
    ra, dec = 30 + rng.uniform(-1, 1, 20000), -10 + rng.uniform(-1, 1, 20000)
    truth = in_field(ra, dec, 30.0, -10.0, (0.5, 0.5))
    inside = region.contains(ra, dec)
    pixel = np.rad2deg(np.sqrt(np.pi / 3 / 4**order))  # the resolution: within a pixel of the edge, either
    edge = np.abs(np.abs(ra - 30) * np.cos(np.deg2rad(dec)) - 0.25) < pixel
    edge |= np.abs(np.abs(dec + 10) - 0.25) < pixel
    assert np.array_equal(inside[~edge], truth[~edge])


def others_observed_the_best_fields(world, n: int) -> list[tuple[float, float]]:
    """Another team (ZTF-like, 1°-square 4-CCD camera, r band) completed ``n`` fields at the map's peak."""
    world.tm.add_instrument(5, "Other camera", square_ccds(1.0, 2))
    _, prepared = world.maps.latest(EVENT)
    ra, dec, prob = sample_points(prepared, 0.5)
    centres = []
    for i in np.argsort(-prob):
        if all(abs(ra[i] - c[0]) * np.cos(np.deg2rad(dec[i])) > 0.9 or abs(dec[i] - c[1]) > 0.9 for c in centres):
            centres.append((float(ra[i]), float(dec[i])))
        if len(centres) == n:
            break
    when = datetime.now(UTC).replace(tzinfo=None)
    for c in centres:
        world.tm.add_pointing(EVENT, ra=c[0], dec=c[1], instrumentid=5, status="completed", band="g", depth=20.5,
                              depth_unit="ab_mag", time=when)
    return centres


def test_a_plan_avoids_fields_others_observed_and_says_what_it_adds(world):
    before, _ = world.plans.propose(EVENT, PlanRequest("lco", fields=6, hours=24), ALICE, None)
    # made before anyone's pointings were read: the plan says so, in its message too
    assert "still being read from Treasure Map" in before.summary["others_note"]
    assert "still being read" in json.dumps(bk.plan_message(before.view())[1])
    centres = others_observed_the_best_fields(world, 8)
    assert world.coverage.refresh(EVENT) == 8
    after, result = world.plans.propose(EVENT, PlanRequest("lco", fields=6, hours=24), ALICE, None)
    others = after.summary["others"]
    assert others["n_pointings"] == 8 and others["instruments"] == {"Other camera": 8}
    assert others["completed_prob"] > 0.05

    # recomputed here, independently: probability in our fields that no other field holds
    _, prepared = world.maps.latest(EVENT)
    ra, dec, prob = sample_points(prepared, 0.03)
    theirs = np.zeros(len(ra), bool)
    for c in centres:
        theirs |= in_field(ra, dec, c[0], c[1], (1.0, 1.0))
    ours = np.zeros(len(ra), bool)
    for f in after.summary["fields"]:
        ours |= in_field(ra, dec, f["ra_deg"], f["dec_deg"], (SINISTRO_SIDE, SINISTRO_SIDE))
    new = float(prob[ours & ~theirs].sum())
    assert after.summary["covered_prob"] == pytest.approx(new, rel=0.15, abs=0.003)
    assert after.summary["gross_prob"] == pytest.approx(float(prob[ours].sum()), rel=0.15, abs=0.003)
    assert float(prob[ours & theirs].sum()) < 0.2 * float(prob[ours].sum())  # it went elsewhere
    assert others["completed_prob"] == pytest.approx(float(prob[theirs].sum()), rel=0.15)

    ignoring, _ = world.plans.propose(EVENT, PlanRequest("lco", fields=6, hours=24, ignore_others=True), ALICE, None)
    assert ignoring.summary["others"] is None and "others_note" not in ignoring.summary
    assert "others_note" not in after.summary
    assert ignoring.summary["covered_prob"] == pytest.approx(before.summary["covered_prob"], rel=1e-6)
    assert result.others is not None


def test_planned_pointings_count_half_and_other_bands_and_old_pointings_not_at_all(world):
    world.tm.add_instrument(5, "Other camera", square_ccds(1.0, 2))
    _, prepared = world.maps.latest(EVENT)
    ra0, dec0 = np.rad2deg(prepared.mode_ra), np.rad2deg(prepared.mode_dec)
    now = datetime.now(UTC).replace(tzinfo=None)
    world.tm.add_pointing(EVENT, ra=ra0, dec=dec0, instrumentid=5, status="planned", band="r", time=now)
    world.tm.add_pointing(EVENT, ra=ra0 + 3, dec=dec0, instrumentid=5, status="completed", band="XRT", depth=1e-12,
                          depth_unit="flux_erg", time=now)
    world.tm.add_pointing(EVENT, ra=ra0 - 3, dec=dec0, instrumentid=5, status="completed", band="r", depth=20,
                          depth_unit="ab_mag", time=datetime(2001, 1, 1))
    world.coverage.refresh(EVENT)
    seen, footprints, _ = world.coverage.seen(EVENT)
    cov = world.coverage.coverage(EVENT, world.maps.latest(EVENT)[0], prepared, merger=datetime(2024, 1, 1,
                                                                                                  tzinfo=UTC).timestamp())
    from bot.coordination.bands import Family
    w = cov.weight(Family.OPTICAL, np.array([ra0, ra0 + 3, ra0 - 3]), np.array([dec0, dec0, dec0]))
    assert list(w) == [0.5, 1.0, 1.0]
    assert len(seen) == 3 and len(cov.counted) == 2  # the old one is before the merger
    assert Status.PLANNED in {p.status for p in cov.counted}


def test_gw_coverage_draws_everyones_footprints_and_says_what_they_hold(world):
    from bot.commands.answers import Answers
    from bot.store.events import Event

    others_observed_the_best_fields(world, 5)
    world.approved_plan(fields=3)
    world.share()
    with world.store.session() as s:
        s.add(Event(event_id=EVENT, facts={}))
    answers = Answers(world.store, world.maps, coverage=world.coverage)
    with world.store.session() as s:
        event = s.get(Event, EVENT)
    covered = answers.coverage(event)
    assert covered.picture.data[:8] == b"\x89PNG\r\n\x1a\n"
    body = bk.coverage_message(covered.view)[1][1]["text"]["text"]
    assert "8 pointings (3 ours) by 2 instruments" in body and "Other camera 5" in body and "Sinistro 3" in body
    assert "optical:" in body and "% of the probability observed" in body

    world.tm.down = True  # a failed read is said, and the last good one is used
    world.now[0] += 10_000
    body = bk.coverage_message(answers.coverage(event).view)[1][1]["text"]["text"]
    assert "The last read failed" in body and "8 pointings" in body
