"""LCO's portal as its own code has it: optical-element groups and readout modes per instrument, windows inside
a semester, and cancelled observations never announced as scheduled."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import skymap_bytes
from fakes.lco_server import FakeLCO

from bot import config
from bot.plans.build import build
from bot.plans.facilities import builtin
from bot.plans.lco import Portal, request_group
from bot.plans.planner import make_plan
from bot.plans.request import PlanRequest
from bot.plans.submitter import SubmitError
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

START = datetime(2024, 11, 2, 13, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bbh():
    return prepare(read_skymap(skymap_bytes("S241102br-initial.json")))

#: one valid LCO 1 m request, as the portal takes it
REQUEST = {"location": {"telescope_class": "1m0"}, "windows": [{"start": "2030-01-02T00:00:00Z",
                                                                 "end": "2030-01-03T00:00:00Z"}],
           "configurations": [{"type": "EXPOSE", "instrument_type": "1M0-SCICAM-SINISTRO",
                               "target": {"type": "ICRS", "name": "F1", "ra": 10.0, "dec": -5.0},
                               "instrument_configs": [{"exposure_time": 30, "mode": "full_frame",
                                                       "optical_elements": {"filter": "rp"}}],
                               "constraints": {"max_airmass": 2}}]}


def group_for(bbh, instrument: str, **plan_args) -> dict:
    lco = builtin()["lco"]
    inst = lco.instrument(instrument)
    plan = make_plan(bbh, lco, inst, start=START, n_fields=2, **plan_args)
    return request_group(plan, "S241102br", lco, inst, "LCO2025B-001")


def first_config(group: dict) -> dict:
    return group["requests"][0]["configurations"][0]["instrument_configs"][0]


@pytest.mark.parametrize("instrument,mode", [("sinistro", "full_frame"), ("muscat", "MUSCAT_FAST"),
                                             ("qhy600", "full_frame")])
def test_every_instrument_config_names_its_readout_mode_and_validates(bbh, instrument, mode):
    group = group_for(bbh, instrument)
    assert all(ic["mode"] == mode for r in group["requests"] for c in r["configurations"]
               for ic in c["instrument_configs"])
    with FakeLCO() as lco:
        assert Portal(lco.url, lco.token).validate(group)["errors"] == {}
        del first_config(group)["mode"]
        errors = json.dumps(Portal(lco.url, lco.token).validate(group)["errors"])
        assert "Must set a readout mode" in errors


def test_muscat_uses_its_narrowband_elements_and_nothing_else(bbh):
    group = group_for(bbh, "muscat")
    assert first_config(group)["optical_elements"] == {f"narrowband_{c}_position": "out" for c in "griz"}
    with FakeLCO() as lco:
        portal = Portal(lco.url, lco.token)
        assert portal.validate(group)["errors"] == {}
        wrong = json.loads(json.dumps(group))
        first_config(wrong)["optical_elements"] = {f"diffuser_{c}_position": "out" for c in "griz"}
        assert "not available on 2M0-SCICAM-MUSCAT" in json.dumps(portal.validate(wrong)["errors"])
        missing = json.loads(json.dumps(group))
        del first_config(missing)["optical_elements"]["narrowband_z_position"]
        assert "Must set optical element of type narrowband_z_position" in json.dumps(portal.validate(missing))


def test_a_window_crossing_the_semester_end_is_cut_there(bbh):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    end = start + timedelta(hours=5)
    semesters = [(start - timedelta(days=30), end), (end, end + timedelta(days=180))]
    with FakeLCO(semesters=semesters) as lco:
        settings = config.load({"LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal})
        result = build(bbh, "S241102br", settings, PlanRequest("lco", hours=24), start=start)
        assert result.plan.end <= end
        assert any("end of the LCO semester" in note for note in result.plan.notes)
        for request in result.payload["requests"]:
            assert all(w["end"] <= end.strftime("%Y-%m-%dT%H:%M:%SZ") for w in request["windows"])
        assert result.validation is not None and result.validation["errors"] == {}  # the portal takes it


def test_a_cancelled_observation_is_never_announced_as_scheduled(tmp_path):
    from bot.commands.answers import MapCache
    from bot.plans.lifecycle import PlanBook
    from bot.store import Store
    from bot.store.plans import PlanRecord

    with FakeLCO(schedule_after=3600, cancel_first=True) as lco:  # only a CANCELED observation exists
        settings = config.load({"LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal})
        store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
        book = PlanBook(store, settings, MapCache(store))
        payload = {"name": "test", "proposal": lco.proposal, "ipp_value": 1.0, "operator": "SINGLE",
                   "observation_type": "NORMAL", "requests": [REQUEST]}
        with store.session() as s:
            row = PlanRecord(event_id="S241102br", facility="lco", request={}, summary={}, payload=payload,
                             status="approved", expires=time.time() + 3600)
            s.add(row)
        assert book.submit(row.id).status == "submitted"
        told = book.follow()
        assert not any("scheduled" in t.text for t in told)
        assert lco.observation_queries and all("exclude_canceled=true" in q for q in lco.observation_queries)
        store.close()


def test_cancelling_at_the_portal_as_the_portal_does_it(tmp_path):
    """LCO's own cancel endpoint: pending requests become CANCELED, twice is harmless, an ended group is left as
    it is (the portal answers 400 there; the submitter reads the group back and reports its states)."""
    from bot.plans.lco import LCOSubmitter

    with FakeLCO(schedule_after=0.0, finish_after=0.4) as lco:
        settings = config.load({"LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal})
        portal = LCOSubmitter(settings)
        group = {"name": "test", "proposal": lco.proposal, "ipp_value": 1.0, "operator": "MANY",
                 "observation_type": "NORMAL", "requests": [REQUEST, REQUEST]}
        pending = portal.submit(group)
        states = portal.cancel(pending.group_id)
        assert set(states) == set(pending.states) and set(states.values()) == {"CANCELED"}
        assert portal.cancel(pending.group_id) == states  # again: 200, nothing changes
        ended = portal.submit(group)
        time.sleep(0.6)
        assert set(portal.cancel(ended.group_id).values()) == {"COMPLETED"}  # 400 at the portal; nothing lost
        assert lco.cancels == [pending.group_id, pending.group_id, ended.group_id]
        with pytest.raises(SubmitError):
            portal.cancel(999999)  # not ours (404)
