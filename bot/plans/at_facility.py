"""What the outbox asks of a facility's portal for a plan, in its ``facility`` lane: cancel it
(:class:`~bot.delivery.actions.CancelPlan`: ask the portal, record what it did, say so in the plan's thread; asking
again after a lost answer is harmless, the portal leaves a cancelled group as it is) and submit a plan a rule
approved itself (:class:`~bot.delivery.actions.SubmitPlan`; a plan is submitted once whoever asks)."""

from __future__ import annotations

from typing import Any

from bot.delivery.errors import RetryLater
from bot.delivery.outbox import Sender
from bot.plans.lifecycle import PlanBook, announce
from bot.plans.status import PlanStatus, id_list
from bot.plans.submitter import SubmitError
from bot.store.delivery import Delivery
from bot.store.plans import PlanRecord

__all__ = ["cancel_sender", "submit_sender"]


def cancel_sender(plans: PlanBook) -> Sender:
    def make(session, delivery: Delivery, action: Any):
        plan_id = action.plan_id

        def call() -> dict[str, str] | str:
            try:
                return plans.cancel_at_facility(plan_id)
            except SubmitError as exc:  # transient: the outbox tries again (a second cancel changes nothing)
                raise RetryLater(str(exc), maybe_sent=True) from None

        def finish(s2, _d, outcome: dict[str, str] | str) -> None:
            line = plans.cancelled(s2, plan_id, outcome)
            row = s2.get_one(PlanRecord, plan_id)
            announce(s2, row, f"Plan {plan_id} for {row.event_id}: {line}.")

        return call, finish

    return make


def submit_sender(plans: PlanBook) -> Sender:
    def make(session, delivery: Delivery, action: Any):
        plan_id = action.plan_id

        def call() -> PlanRecord:
            return plans.submit(plan_id)  # only an approved plan is sent, once (a conditional UPDATE claims it)

        def finish(s2, _d, row: PlanRecord) -> None:
            current = s2.get_one(PlanRecord, plan_id)
            if row.status == PlanStatus.SUBMITTED:
                line = (f"submitted to {row.facility.upper()} as request group {row.group_id} "
                        f"({id_list(list(row.request_states))}), as its rule decided")
            elif row.note:
                line = f"not submitted: {row.note}"
            else:
                return
            announce(s2, current, f"Plan {plan_id} for {row.event_id}: {line}.")

        return call, finish

    return make
