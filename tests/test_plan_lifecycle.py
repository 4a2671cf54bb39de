"""A plan's life on its own: proposal, approvers, exactly-once submission, transient and final failures,
supersession by a newer map, following at the facility, expiry, against a fake submitter."""

from __future__ import annotations

import threading

import pytest
from conftest import skymap_bytes

from bot import config
from bot.events.maps import MapCache
from bot.plans.errors import PlanError
from bot.plans.lifecycle import NotAllowed, PlanBook
from bot.plans.request import PlanRequest
from bot.plans.status import PlanStatus
from bot.plans.submitter import SubmitError, Submitted
from bot.store import Store
from bot.store.delivery import Delivery
from bot.store.events import SkymapVersion
from bot.store.plans import PlanRecord

ALICE, MALLORY = "U0000ALICE", "U0MALLORY1"


class FakeSubmitter:
    """Stands for a facility's portal (the :class:`bot.plans.submitter.Submitter` protocol)."""

    final_states = {"COMPLETED": "completed", "WINDOW_EXPIRED": "expired"}

    def __init__(self) -> None:
        self.submitted: list[dict] = []
        self.fail: list[SubmitError] = []
        self.lock = threading.Lock()
        self.now_states = {"1": "PENDING", "2": "PENDING"}
        self.cancels: list[int] = []

    def prepare(self, facility, start, hours):
        return facility, hours, []

    def payload(self, plan, event_id, facility, instrument):
        return {"fields": len(plan.fields)}

    def validate(self, payload):
        return {"errors": {}}, "validated"

    def submit(self, payload):
        with self.lock:
            if self.fail:
                raise self.fail.pop(0)
            self.submitted.append(payload)
        return Submitted(42, {"1": "PENDING", "2": "PENDING"}, "https://portal.example/42")

    def states(self, group_id):
        return dict(self.now_states)

    def observed(self, request_id):
        return None

    def describe_errors(self, errors):
        return [str(errors)]

    def cancel(self, group_id):
        """As LCO's portal: pending requests become CANCELED, ended ones keep their state."""
        self.cancels.append(group_id)
        self.now_states = {rid: "CANCELED" if state == "PENDING" else state for rid, state in self.now_states.items()}
        return dict(self.now_states)


@pytest.fixture
def book(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'plans.sqlite'}")
    with store.session() as s:
        s.add(SkymapVersion(event_id="S241102br", alert_key="k", alert_type="INITIAL",
                            fits=skymap_bytes("S241102br-initial.json"), created=1.0))
    fake = FakeSubmitter()
    clock = [1_000_000.0]
    settings = config.load({"GWBOT_APPROVERS": ALICE, "HOP_AUTH": "false"})
    plans = PlanBook(store, settings, MapCache(store), clock=lambda: clock[0],
                     submitters=lambda kind, _settings: fake if kind == "lco" else None)
    yield plans, fake, clock
    store.close()


def propose(plans: PlanBook, **request) -> PlanRecord:
    row, _ = plans.propose("S241102br", PlanRequest("lco", fields=3, **request), ALICE, "C0000PLAN")
    return row


def kinds(plans: PlanBook) -> list[str]:
    with plans.store.session() as s:
        return [d.kind for d in s.query(Delivery).order_by(Delivery.id)]


def test_a_validated_plan_is_proposed_and_its_message_and_picture_are_queued(book):
    plans, _, _ = book
    row = propose(plans)
    assert row.status == PlanStatus.PROPOSED and row.summary["n_fields"] == 3
    assert kinds(plans) == ["ShowPlan", "Upload"]


def test_user_mistakes_are_plan_errors(book):
    plans, _, _ = book
    with pytest.raises(PlanError, match="unknown facility"):
        plans.check(PlanRequest("keck"))
    with pytest.raises(PlanError, match="no filter"):
        plans.check(PlanRequest("lco", filters=("nope",)))
    with pytest.raises(PlanError, match="no combined"):
        plans.propose("S241102br", PlanRequest("lco", map="combined"), ALICE, None)


def test_only_approvers_decide_and_only_the_first_decision_counts(book):
    plans, _, _ = book
    row = propose(plans)
    with pytest.raises(NotAllowed):
        plans.decide(row.id, MALLORY, True)
    assert plans.decide(row.id, ALICE, False)[0] is True
    changed, again = plans.decide(row.id, ALICE, True)
    assert changed is False and again.status == PlanStatus.REJECTED


def test_four_simultaneous_approvals_submit_once(book):
    plans, fake, _ = book
    row = propose(plans)
    results = []
    threads = [threading.Thread(target=lambda: results.append(plans.decide(row.id, ALICE, True)[0]))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    for _ in range(3):
        plans.submit(row.id)
    assert len(fake.submitted) == 1 and plans.get(row.id).group_url == "https://portal.example/42"


def test_a_transient_failure_is_retried_by_the_follower_and_a_final_one_is_kept(book):
    plans, fake, _ = book
    retried, final = propose(plans), propose(plans)
    fake.fail = [SubmitError("busy", retry=True), SubmitError("refused: bad proposal")]
    for row in (retried, final):
        plans.decide(row.id, ALICE, True)
        plans.submit(row.id)
    assert plans.get(retried.id).status == PlanStatus.APPROVED
    assert plans.get(final.id).status == PlanStatus.FAILED and "bad proposal" in plans.get(final.id).note
    told = plans.follow()
    assert plans.get(retried.id).status == PlanStatus.SUBMITTED and any("request group 42" in t.text for t in told)


def test_a_newer_map_supersedes_open_plans_and_says_so(book):
    plans, _, _ = book
    row = propose(plans)
    with plans.store.session() as s:
        plans.map_changed(s, "S241102br", "a newer sky map arrived")
    assert plans.get(row.id).status == PlanStatus.SUPERSEDED
    assert kinds(plans)[-2:] == ["ShowPlan", "Post"]
    assert plans.decide(row.id, ALICE, True)[0] is False


def test_following_reports_changes_and_finishes(book):
    plans, fake, _ = book
    row = propose(plans)
    plans.decide(row.id, ALICE, True)
    plans.submit(row.id)
    assert plans.follow() == []
    fake.now_states = {"1": "SCHEDULED", "2": "COMPLETED"}
    assert [t.text for t in plans.follow()] == [
        "LCO request 1 is scheduled, request 2 is completed (1 of 2 requests completed; 1 scheduled)"]
    fake.now_states = {"1": "WINDOW_EXPIRED", "2": "COMPLETED"}
    plans.follow()
    assert plans.get(row.id).status == PlanStatus.DONE


def test_an_unapproved_plan_expires(book):
    plans, _, clock = book
    row = propose(plans)
    clock[0] += 3 * 3600
    assert [t.text for t in plans.follow()] == ["expired without approval"]
    assert plans.get(row.id).status == PlanStatus.EXPIRED


def test_a_facility_that_takes_plans_by_hand_gives_a_draft(book):
    plans, _, _ = book
    row, result = plans.propose("S241102br", PlanRequest("ztf", fields=2), ALICE, None)
    assert row.status == PlanStatus.DRAFT and result.payload is None and not result.valid
    with pytest.raises(PlanError, match="by hand"):
        plans._submitter("ztf")


def test_approvers_given_as_a_user_group_are_asked_of_slack(tmp_path):
    """GWBOT_APPROVERS may name a user group (S…): its members approve, others do not; the wiring gives PlanBook
    the look-up when it is made."""
    from fakes.slack_server import FakeSlack

    from bot.slack.target import group_members_for

    with FakeSlack() as slack:
        slack.usergroups["S0FOLLOWUP"] = [ALICE]
        settings = config.load({"GWBOT_APPROVERS": "S0FOLLOWUP", "SLACK_BOT_TOKEN": slack.token,
                                "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false"})
        store = Store(f"sqlite:///{tmp_path / 'plans.sqlite'}")
        plans = PlanBook(store, settings, MapCache(store), group_members=group_members_for(settings))
        assert plans.is_approver(ALICE) and not plans.is_approver("U0000BOB01")
        store.close()
    dry = config.load({"GWBOT_APPROVERS": "S0FOLLOWUP", "HOP_AUTH": "false"})
    assert group_members_for(dry) is None  # no workspace: only user IDs can approve


def cancel_outbox(plans: PlanBook):
    """The outbox as the bot wires it for plans: Slack's kinds to memory, cancels to the plans' facility."""
    from fakes.target import MemoryTarget

    from bot.plans import at_facility
    from bot.slack.sender import slack_outbox

    return slack_outbox(plans.store, MemoryTarget(), services={"CancelPlan": at_facility.cancel_sender(plans)})


def thread_texts(outbox) -> list[str]:
    return [m.text for m in outbox.senders["Post"].target.messages]


def test_an_approver_cancels_a_submitted_plan_once_and_the_thread_says_what_was_cancelled(book):
    plans, fake, _ = book
    outbox = cancel_outbox(plans)
    row = propose(plans)
    plans.decide(row.id, ALICE, True)
    plans.submit(row.id)
    fake.now_states = {"1": "COMPLETED", "2": "PENDING"}
    plans.follow()
    with pytest.raises(NotAllowed):
        plans.cancel(row.id, MALLORY)
    changed, cancelling = plans.cancel(row.id, ALICE)
    assert changed and cancelling.status == PlanStatus.CANCELLING and cancelling.cancelled_by == ALICE
    assert plans.cancel(row.id, ALICE)[0] is False  # a second press: nothing more
    assert outbox.drain(30)
    done = plans.get(row.id)
    assert done.status == PlanStatus.CANCELLED and fake.cancels == [42]
    assert done.request_states == {"1": "COMPLETED", "2": "CANCELED"}
    assert any(f"Plan {row.id} for S241102br: cancelled by <@{ALICE}>: 1 request cancelled at LCO "
               "(1 of 2 requests completed, 1 canceled)" in t for t in thread_texts(outbox)), thread_texts(outbox)
    assert plans.cancel(row.id, ALICE)[0] is False and fake.cancels == [42]  # after it ended, still harmless


def test_a_retraction_cancels_every_submitted_plan_of_the_event(book):
    plans, fake, _ = book
    outbox = cancel_outbox(plans)
    submitted, open_one = propose(plans), propose(plans)
    plans.decide(submitted.id, ALICE, True)
    plans.submit(submitted.id)
    with plans.store.session() as s:
        plans.map_changed(s, "S241102br", "the event was retracted")
        plans.retracted(s, "S241102br")
    assert plans.get(open_one.id).status == PlanStatus.SUPERSEDED  # never submitted: nothing to cancel
    assert outbox.drain(30)
    assert plans.get(submitted.id).status == PlanStatus.CANCELLED and fake.cancels == [42]
    assert any("the event was retracted: 2 requests cancelled at LCO" in t for t in thread_texts(outbox))


def test_a_plan_whose_requests_had_all_ended_is_not_cancelled(book):
    plans, fake, _ = book
    row = propose(plans)
    plans.decide(row.id, ALICE, True)
    plans.submit(row.id)
    fake.now_states = {"1": "COMPLETED", "2": "WINDOW_EXPIRED"}
    plans.follow()
    assert plans.get(row.id).status == PlanStatus.DONE
    assert plans.cancel(row.id, ALICE)[0] is False and fake.cancels == []
