"""The outbox's way of cancelling a plan at its facility (:class:`~bot.delivery.actions.CancelPlan`): ask the
portal, record what it did, and say so in the plan's thread. Asking again after a lost answer is harmless: the
portal leaves a cancelled group as it is."""

from __future__ import annotations

from typing import Any

from bot.delivery.errors import RetryLater
from bot.delivery.outbox import Sender
from bot.plans.lifecycle import PlanBook, announce
from bot.plans.submitter import SubmitError
from bot.store.delivery import Delivery
from bot.store.plans import PlanRecord

__all__ = ["sender"]


def sender(plans: PlanBook) -> Sender:
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
