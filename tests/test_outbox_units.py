"""The outbox on its own, against an in-memory target: order per lane, dependencies, retries, unknown
outcomes, rejections, typed actions (threads, plans, channels, retraction edits)."""

from __future__ import annotations

import pytest
from fakes.target import MemoryTarget
from helpers import slack_target

from bot.delivery.actions import (
    Channel,
    Edit,
    MarkRetracted,
    OpenChannel,
    Post,
    ShowPlan,
    Thread,
    Topic,
    Upload,
    from_json,
    to_json,
)
from bot.delivery.outbox import Outbox, enqueue
from bot.slack.sender import slack_outbox
from bot.slack.target import RetryLater, SlackRejected
from bot.store import Store
from bot.store.delivery import Delivery
from bot.store.events import Event
from bot.store.events import SummaryPost as RecordedPost
from bot.store.plans import PlanRecord


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return slack_outbox(Store(f"sqlite:///{tmp_path / 'o.sqlite'}"), MemoryTarget(), ops_channel="ops")


def send(outbox: Outbox, steps: int = 50) -> None:
    for _ in range(steps):
        outbox.step()
        with outbox.store.session() as s:
            s.query(Delivery).filter(Delivery.status == "pending").update({"not_before": 0.0})
        if outbox.pending() == 0:
            return


def queue(outbox: Outbox, action, **kwargs) -> int:
    with outbox.store.session() as s:
        return enqueue(s, action, **kwargs).id


def status(outbox: Outbox, delivery_id: int) -> str:
    with outbox.store.session() as s:
        return s.get_one(Delivery, delivery_id).status


def test_actions_round_trip_through_json():
    for action in (Post(Channel(name="a"), "t", [{"type": "divider"}], Thread(event=True), True, True, True),
                   Upload(Channel(event="S1"), "f.png", "title", Thread(plan=3)), Edit(Channel(name="a"), "1.2", "x"),
                   Topic("S1", "topic"), OpenChannel("S1", "s1", ("U1", "U2")), MarkRetracted("S1", Channel(name="a")),
                   ShowPlan(7, Channel(name="C0001"))):
        assert from_json(*to_json(action)) == action
    with pytest.raises(ValueError):
        Channel()


def test_order_is_kept_within_a_lane_and_lanes_are_independent(outbox):
    target = slack_target(outbox)
    for i in range(3):
        queue(outbox, Post(Channel(name="a"), f"a{i}"))
        queue(outbox, Post(Channel(name="b"), f"b{i}"))
    target.fail_next = [RetryLater("busy", after=0.0)]  # the first post (a0) waits; b goes on meanwhile
    send(outbox)
    a, b = target.resolve_channel("a"), target.resolve_channel("b")
    assert target.texts(a) == ["a0", "a1", "a2"] and target.texts(b) == ["b0", "b1", "b2"]


def test_an_unknown_outcome_is_looked_up_not_posted_twice(outbox):
    slack_target(outbox).lost_answers = 1
    queue(outbox, Post(Channel(name="a"), "once"))
    queue(outbox, Post(Channel(name="a"), "then"))
    send(outbox)
    assert slack_target(outbox).texts() == ["once", "then"] and "find_post" in slack_target(outbox).calls


def test_a_rejected_delivery_fails_is_reported_and_the_lane_goes_on(outbox):
    slack_target(outbox).fail_next = [SlackRejected("invalid_blocks")]
    bad = queue(outbox, Post(Channel(name="a"), "bad"))
    good = queue(outbox, Post(Channel(name="a"), "good"))
    send(outbox)
    assert status(outbox, bad) == "failed" and status(outbox, good) == "done"
    ops = slack_target(outbox).resolve_channel("ops")
    assert any("could not be delivered" in t for t in slack_target(outbox).texts(ops))


def test_dependencies_wait_for_the_channel(outbox):
    with outbox.store.session() as s:
        s.add(Event(event_id="S1", channel_name="s1", facts={}))
        s.flush()
        opened = enqueue(s, OpenChannel("S1", "s1", ("U1",)), event_id="S1")
        enqueue(s, Post(Channel(event="S1"), "in the event channel"), event_id="S1", depends_on=opened.id)
        enqueue(s, Topic("S1", "PRELIMINARY · BBH 99%"), event_id="S1")
    send(outbox)
    target = slack_target(outbox)
    channel = target.channels["s1"]
    assert target.texts(channel) == ["in the event channel"] and target.topics[channel].startswith("PRELIMINARY")
    assert target.invites == [(channel, ("U1",))]


def test_a_taken_channel_name_opens_the_next_and_tells_ops(outbox):
    slack_target(outbox).taken.add("s2")
    with outbox.store.session() as s:
        s.add(Event(event_id="S2", channel_name="s2", facts={}))
        s.flush()
        enqueue(s, OpenChannel("S2", "s2"), event_id="S2")
    send(outbox)
    with outbox.store.session() as s:
        assert s.get_one(Event, "S2").channel_name == "s2-1"
    assert any("#s2 was taken" in t for t in slack_target(outbox).texts(slack_target(outbox).channels["ops"]))


def test_threads_records_and_retraction_edits(outbox):
    with outbox.store.session() as s:
        s.add(Event(event_id="S3", channel_name="s3", facts={}))
        s.flush()
        enqueue(s, Post(Channel(name="a"), "summary", [{"type": "header", "text": {"type": "plain_text",
                                                                                    "text": "S3"}}],
                        Thread(event=True), starts_thread=True, record=True), event_id="S3")
        enqueue(s, Post(Channel(name="a"), "update", [], Thread(event=True)), event_id="S3")
        enqueue(s, MarkRetracted("S3", Channel(name="a")), event_id="S3")
    send(outbox)
    first, second = slack_target(outbox).messages
    assert second.thread_ts == first.ts and first.text.startswith("RETRACTED") and first.edits == 1
    with outbox.store.session() as s:
        assert s.get_one(Event, "S3").thread_ts == first.ts and s.query(RecordedPost).count() == 1


SUMMARY = {"facility": "lco", "instrument": "1M0-SCICAM-SINISTRO", "filters": ["rp"], "exposure_s": 300.0,
           "n_fields": 3, "covered_prob": 0.25, "seconds_per_site": {}, "total_exposure_s": 900.0,
           "window_start": "2025-01-01T00:00:00", "window_end": "2025-01-02T00:00:00", "first_windows": {}}


def test_a_plan_message_is_posted_once_then_edited_to_its_current_state(outbox):
    with outbox.store.session() as s:
        plan = PlanRecord(event_id="S4", facility="lco", request={}, status="proposed", expires=0.0,
                          summary=SUMMARY)
        s.add(plan)
        s.flush()
        shown = enqueue(s, ShowPlan(plan.id, Channel(name="C0000PLAN")), event_id="S4")
        enqueue(s, Upload(Channel(name="C0000PLAN"), "plan.png", "plan", Thread(plan=plan.id)), event_id="S4",
                file=b"png", depends_on=shown.id)
        plan_id = plan.id
    send(outbox)
    with outbox.store.session() as s:
        row = s.get_one(PlanRecord, plan_id)
        row.status = "rejected"
        enqueue(s, ShowPlan(plan_id, Channel(name="C0000PLAN")), event_id="S4")
    send(outbox)
    (message,) = slack_target(outbox).messages
    assert message.edits == 1 and "Rejected" in message.text
    assert slack_target(outbox).uploads == [("C0000PLAN", "plan.png", message.ts)]


def test_a_plan_edit_superseded_while_queued_is_dropped_and_edits_are_paced(outbox):
    """Edits go in the plan's own lane (never holding the channel's), a newer one drops the one still queued,
    and a plan's message is edited at most once per its pacing (the outbox's edit_every_s)."""
    every = outbox.edit_every_s

    with outbox.store.session() as s:
        plan = PlanRecord(event_id="S5", facility="lco", request={}, status="proposed", expires=0.0,
                          channel_id="C0000PLAN", summary=SUMMARY)
        s.add(plan)
        s.flush()
        plan_id = plan.id
    queue(outbox, ShowPlan(plan_id, Channel(name="C0000PLAN")))
    send(outbox)
    first = queue(outbox, ShowPlan(plan_id, Channel(name="C0000PLAN"), edit=True))
    second = queue(outbox, ShowPlan(plan_id, Channel(name="C0000PLAN"), edit=True))
    assert status(outbox, first) == "dropped" and status(outbox, second) == "pending"
    outbox.step()
    assert status(outbox, second) == "done"
    with outbox.store.session() as s:
        sent = s.get_one(Delivery, second).done_at
    third = queue(outbox, ShowPlan(plan_id, Channel(name="C0000PLAN"), edit=True))
    post = queue(outbox, Post(Channel(name="C0000PLAN"), "a line in the channel"))
    outbox.step()
    assert status(outbox, post) == "done" and status(outbox, third) == "pending"  # the channel did not wait
    with outbox.store.session() as s:
        assert s.get_one(Delivery, third).not_before == sent + every  # the next slot, not sooner
        assert s.get_one(Delivery, third).lane == f"plan:{plan_id}" != s.get_one(Delivery, post).lane
    assert slack_target(outbox).messages[0].edits == 1


def test_a_replica_takes_over_what_a_dead_one_left_in_flight_and_leaves_a_live_ones_alone(tmp_path):
    """Two outboxes on one store. A delivery the first has in flight is left to it while its heartbeat is fresh;
    when the first goes silent (killed after posting, before recording), the second looks the post up and
    does not post it again; a delivery the dead one had claimed but not sent is sent once."""
    now = [1000.0]
    store = Store(f"sqlite:///{tmp_path / 'replicas.sqlite'}")
    target = MemoryTarget()
    first, second = (slack_outbox(store, target, clock=lambda: now[0]) for _ in range(2))
    posted_id = queue(first, Post(Channel(name="alerts"), "sent before the crash"))
    unsent_id = queue(first, Post(Channel(name="other"), "claimed, never sent"))
    channel = target.resolve_channel("alerts")
    target.post(channel, "sent before the crash", [], None, False, posted_id)  # the first one's call went through
    with store.session() as s:
        for d in s.query(Delivery):
            d.status, d.sender, d.result = "in_flight", first.sender, {"channel": target.resolve_channel(
                "alerts" if d.id == posted_id else "other")}
    first.heartbeat()
    second.heartbeat()
    second.recover()
    assert status(second, posted_id) == status(second, unsent_id) == "in_flight"  # the first is alive
    now[0] += 31  # the first has been silent for longer than SENDER_TIMEOUT_S
    second.heartbeat()
    second.recover()
    send(second)
    assert [m.text for m in target.messages].count("sent before the crash") == 1
    assert [m.text for m in target.messages].count("claimed, never sent") == 1
    assert status(second, posted_id) == status(second, unsent_id) == "done"
