"""Every Slack message builder, checked against the Slack stand-in's Block Kit rules, and the text formatter
that the terminal uses for the same results."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import data_file
from fakes.slack_server import _check_blocks

from bot.commands.check import check
from bot.commands.parse import Transient
from bot.commands.text import check_csv, check_lines
from bot.events.facts import EventFacts
from bot.ingest.decode import decode
from bot.ingest.gcn import Circular
from bot.plans.status import PlanStatus
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare
from bot.skymap.summary import summarize
from bot.slack import blocks as bk

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def alert():
    return decode("igwn.gwalert", data_file("MS181101ab-ext-update.avro").read_bytes())


@pytest.fixture(scope="module")
def prepared(alert):
    return prepare(read_skymap(alert.skymap))


def test_gw_summary_retraction_and_edits(alert, prepared):
    combined = summarize(prepare(read_skymap(alert.combined_skymap)))
    text, blocks = bk.gw_summary(alert, summarize(prepared), NOW, "<#C1>", combined=combined)
    _check_blocks(blocks)
    flat = json.dumps(blocks, ensure_ascii=False)
    assert flat.index("GW sky map") < flat.index("with Fermi: 90%") and text.startswith("MS181101ab UPDATE")
    edited_text, edited = bk.mark_retracted(text, blocks)
    _check_blocks(edited)
    assert edited_text.startswith("RETRACTED") and not any(b["type"] == "actions" for b in edited)
    _check_blocks(bk.gw_retraction(alert)[1])


def test_topic_and_list_parts_are_formatted_from_numbers(alert, prepared):
    facts = EventFacts.of(alert, summarize(prepared))
    assert facts == EventFacts.from_json(json.loads(json.dumps(facts.to_json())))
    topic = bk.event_topic("UPDATE", facts, retracted=False)
    assert topic.startswith("UPDATE · ") and "deg²" in topic and len(topic) <= bk.TOPIC_MAX
    assert bk.event_topic("UPDATE", EventFacts(), retracted=True) == "RETRACTED"


def test_circulars_notices_and_ops_messages():
    long = Circular(12345, "S250101a: a subject " * 20, "body <!here> " * 1000, "Someone <a@b>", ("S250101a",))
    text, blocks = bk.circular(long)
    _check_blocks(blocks)
    assert "<!here>" not in json.dumps(blocks) and "&lt;!here&gt;" in json.dumps(blocks)
    _check_blocks(bk.ops_error("t", 0, 1, "reason <@U1>")[1])
    _check_blocks(bk.ops_alarm("what <!channel>", "detail")[1])


@pytest.mark.parametrize("status", list(PlanStatus))
def test_plan_message_in_every_status(status):
    summary = {"facility": "lco", "instrument": "1M0-SCICAM-SINISTRO", "filters": ["rp"], "exposure_s": 300.0,
               "n_fields": 12, "covered_prob": 0.31, "seconds_per_site": {"lsc": 7200.0}, "total_exposure_s": 3600.0,
               "window_start": "2025-01-01T00:00:00+00:00", "window_end": "2025-01-02T00:00:00+00:00",
               "first_windows": {"lsc": "2025-01-01T01:00:00+00:00"}, "validation_note": "LCO found errors",
               "validation_errors": ["requests[0].windows: outside the semester <x>"]}
    plan = {"id": 5, "event_id": "S1", "status": status, "summary": summary, "decided_by": "U1", "decided_at": 0.0,
            "group_id": 9 if status in (PlanStatus.SUBMITTED, PlanStatus.DONE) else None, "facility": "lco",
            "group_url": "https://observe.lco.global/requestgroups/9/", "note": "n", "expires": 0.0}
    text, blocks = bk.plan_message(plan)
    _check_blocks(blocks)
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == {PlanStatus.PROPOSED: [bk.PLAN_APPROVE, bk.PLAN_REJECT],
                       PlanStatus.SUPERSEDED: [bk.PLAN_REPLAN],
                       PlanStatus.SUBMITTED: [bk.PLAN_CANCEL]}.get(status, [])
    assert "&lt;x&gt;" in json.dumps(blocks)


def test_one_check_result_two_formatters(prepared):
    candidates = [Transient(194.30, -17.86, 40.0, datetime(2018, 11, 2, tzinfo=UTC), "AT <b>"),
                  Transient(10.0, 80.0, None, None, "far away")]
    result = check(prepared, candidates, datetime(2018, 11, 1, 22, 22, tzinfo=UTC), "MS181101ab")
    text, blocks = bk.check_message(result, shown=20)
    _check_blocks(blocks)
    lines = check_lines(result)
    # the same phrases in Slack and the terminal
    assert lines[0].startswith("PLAUSIBLE") and lines[0] in json.dumps(blocks, ensure_ascii=False)
    assert "&lt;b&gt;" in json.dumps(blocks) and "1 plausible" in json.dumps(blocks)
    rows = check_csv(result).decode().splitlines()
    assert rows[0].startswith("name,ra_deg") and rows[1].startswith("AT <b>,194.3")
