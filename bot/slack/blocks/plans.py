"""An observation plan's message: what, how much probability, where and when, and what happened to it, with its
buttons."""

from __future__ import annotations

from dataclasses import asdict

from bot.commands.records import RulesView
from bot.plans.status import standing
from bot.plans.verdict import Verdict
from bot.slack.blocks.kit import Blocks, clip, context, escape, fields_section, header, limit_blocks, link, section, utc
from bot.slack.blocks.reporting import CIRCULAR_DRAFT

__all__ = ["HERMES_PUBLISH", "PLAN_APPROVE", "PLAN_CANCEL", "PLAN_HERMES", "PLAN_REJECT", "PLAN_REPLAN",
           "VERDICT_BLOCK", "auto_plan_call", "no_longer", "others_line", "plan_message", "rules_message",
           "verdict_line", "verdict_short", "with_verdicts"]


PLAN_APPROVE, PLAN_REJECT, PLAN_REPLAN, PLAN_CANCEL = "plan_approve", "plan_reject", "plan_replan", "plan_cancel"


PLAN_HERMES, HERMES_PUBLISH = "plan_hermes_prepare", "hermes_publish"


_PLAN_STATUS = {
    "proposed": ":hourglass: Waiting for an approver",
    "draft": ":memo: For information (cannot be submitted from here)",
    "approved": ":white_check_mark: Approved — submitting",
    "submitting": ":white_check_mark: Approved — submitting",
    "submitted": ":telescope: Submitted",
    "done": ":checkered_flag: Finished at the facility",
    "rejected": ":x: Rejected",
    "expired": ":alarm_clock: Expired without approval",
    "superseded": ":arrows_counterclockwise: Superseded",
    "failed": ":warning: Submission failed",
    "cancelling": ":octagonal_sign: Cancelling at the facility",
    "cancelled": ":octagonal_sign: Cancelled",
}


VERDICT_BLOCK = "followup"
_DECISION_ICON = {"GO": ":large_green_circle:", "WAIT": ":large_yellow_circle:", "NO": ":red_circle:"}


def verdict_line(verdict: Verdict) -> str:
    """"LCO: GO — NSBH 64%, 180 ± 40 Mpc, 41% of the probability observable in the next 24 h, first field …"."""
    return f"{verdict.rule.upper()}: {verdict.decision} — {'; '.join(verdict.reasons)}"


def with_verdicts(blocks: Blocks, verdicts: list[Verdict]) -> Blocks:
    """A summary's blocks with its follow-up verdicts as a section (replacing the ones it had), before its buttons."""
    kept = [b for b in blocks if b.get("block_id") != VERDICT_BLOCK]
    lines = "\n".join(f"{_DECISION_ICON.get(v.decision, '')} *{escape(verdict_line(v))}*" for v in verdicts)
    block = {**section(clip(f"*Follow-up*\n{lines}", 2900)), "block_id": VERDICT_BLOCK}
    at = next((i for i, b in enumerate(kept) if b.get("type") in ("actions", "context")), len(kept))
    return limit_blocks(kept[:at] + [block] + kept[at:])


def no_longer(event_id: str, rule: str) -> str:
    """A rule the event passed on its earlier map, and not on the new one."""
    return (f"{event_id} no longer passes the follow-up rule `{escape(rule)}` on its new map (see the summary); "
            "an open plan it proposed was superseded.")


def rules_message(view: RulesView) -> tuple[str, Blocks]:
    """/gw rules: each follow-up rule (what it plans and what it asks of an alert), and an event's verdicts."""
    if not view.rules:
        return "No follow-up rules", [section("No follow-up rules are set: add `[[auto_plans]]` tables to "
                                              "GWBOT_CONFIG to have plans proposed by themselves.")]
    lines = []
    for rule in view.rules:
        asks = [f"{k} = {v}" for k, v in asdict(rule.criteria).items() if v not in (None, (), "")]
        asks += [f"{k} = {getattr(rule, k):g}" for k in ("max_area90_deg2", "max_distance_mpc")
                 if getattr(rule, k) is not None]
        asks.append(f"min_observable = {rule.min_observable:g}")
        plans = ", ".join(p for p in (rule.instrument, ",".join(rule.filters), f"{rule.exposure_s:g} s",
                                      f"{rule.fields} fields" if rule.fields else None, f"{rule.hours:g} h",
                                      f"revisit {rule.revisit}" if rule.revisit else None) if p)
        lines.append(f"• *{escape(rule.name)}*: {escape(plans)}; when {escape(', '.join(asks))}"
                     + ("; submits without asking (auto_submit)" if rule.auto_submit else ""))
    blocks = [section(clip("*Follow-up rules* ([[auto_plans]] in GWBOT_CONFIG)\n" + "\n".join(lines), 2900))]
    if view.event_id:
        said = "\n".join(f"{_DECISION_ICON.get(v.decision, '')} {escape(verdict_line(v))}" for v in view.verdicts)
        blocks.append(section(clip(f"*{view.event_id}*, latest map:\n" + (said or "not judged yet"), 2900)))
    return f"{len(view.rules)} follow-up rule(s)", blocks


def verdict_short(verdicts: list[Verdict]) -> str:
    """The topic's form: "LCO GO · ZTF NO"."""
    return " · ".join(f"{v.rule.upper()} {v.decision}" for v in verdicts)


def auto_plan_call(plan_id: int, rule: str, approvers: tuple[str, ...], auto_submit: bool) -> str:
    """Under a plan a rule proposed: who is asked to decide (users and user groups mentioned), or that the rule
    decided."""
    who = " ".join(f"<!subteam^{a}>" if a.startswith("S") else f"<@{a}>" for a in approvers)
    if auto_submit:
        return (f"Plan {plan_id} was made and approved by the follow-up rule `{escape(rule)}` (auto_submit): it is "
                f"submitted at the next follow run. {who} Cancel it with the button if it should not be.").strip()
    return (f"Plan {plan_id} was proposed by the follow-up rule `{escape(rule)}`. "
            f"{who or 'No approvers are set (GWBOT_APPROVERS)'}: approve or reject it above.")


def others_line(others: dict, new_prob: float, gross_prob: float | None) -> str:
    """What others have already covered (Treasure Map) and what the plan adds."""
    if not others["n_pointings"]:
        return ("*Others' coverage*: no pointings in comparable bands on Treasure Map yet. "
                f"This plan adds {100 * new_prob:.1f}% of the probability.")
    who = ", ".join(f"{escape(name)} {n}" for name, n in list(others["instruments"].items())[:6])
    line = (f"*Others' coverage* (Treasure Map, comparable bands): {100 * others['completed_prob']:.1f}% of the "
            f"probability already observed ({100 * others['area90_fraction']:.0f}% of the 90% region) by "
            f"{others['n_pointings']} pointings ({who})")
    if others["planned_prob"] > 0.0005:
        line += f"; {100 * others['planned_prob']:.1f}% more is planned (counted half)"
    line += f".\n*This plan adds {100 * new_prob:.1f}% new probability*"
    if gross_prob is not None:
        line += f" (its fields hold {100 * gross_prob:.1f}% in all)"
    return line + ". `--ignore-others` plans without it."


def plan_message(plan: dict) -> tuple[str, Blocks]:
    """The plan post: what, how much probability, where and when, and what happened to it.

    ``plan`` holds the stored plan's columns (id, event_id, status, summary, decided_by, ...).
    """
    s = plan["summary"]
    hours = s["total_exposure_s"] / 3600
    title = f"{plan['event_id']} · plan for {s['facility'].upper()} {s['instrument']}"
    others = s.get("others")
    facts = [f"*Fields scheduled*\n{s['n_fields']}",
             f"*{'New probability' if others else 'Probability covered'}*\n{100 * s['covered_prob']:.1f}%",
             f"*Filters × exposure*\n{', '.join(s['filters'])} × {s['exposure_s']:g} s"
             + (f"\nthen {s['n_revisits']} revisited in {s['revisit']} ≥{s['revisit_gap_s'] / 60:g} min later"
                if s.get("revisit") else ""),
             f"*Total exposure*\n{hours:.1f} h"]
    if s["seconds_per_site"]:
        facts.append("*Time per site*\n" + ", ".join(f"{k} {v / 3600:.1f} h" for k, v in s["seconds_per_site"].items()))
    if s["first_windows"]:
        facts.append("*First exposures*\n" + ", ".join(f"{k} {v[11:16]} UTC" for k, v in
                                                      list(s["first_windows"].items())[:4]))
    if s.get("unscheduled_prob", 0) > 0.001:
        facts.append(f"*Observable, not scheduled*\n{100 * s['unscheduled_prob']:.1f}% (no telescope time left)")
    blocks: Blocks = [header(title), fields_section(facts)]
    if others is not None:
        blocks.append(section(others_line(others, s["covered_prob"], s.get("gross_prob"))))
    elif s.get("others_note"):
        blocks.append(section(f":hourglass: {escape(s['others_note'])}"))
    validation = s.get("validation") or {}
    durations = (validation.get("request_durations") or {}).get("duration")
    check = s.get("validation_note", "")
    if durations:
        check += f" (LCO estimates {durations / 3600:.1f} h in all)"
    errors = s.get("validation_errors") or []
    if errors:
        check += ":\n" + "\n".join(f"• {escape(line)}" for line in errors[:8])
    blocks.append(section(f"*Check*: {check}"))
    status = plan["status"]
    line = _PLAN_STATUS.get(status, status)
    decided = plan.get("decided_by")
    if decided:
        by = f"the rule `{escape(decided[5:])}`" if decided.startswith("rule:") else f"<@{decided}>"
        verb = "approved" if status != "rejected" else "rejected"
        line += f" · {verb} by {by} at {utc(plan.get('decided_at'))}"
    if plan.get("rule"):
        line += f"\nProposed by the follow-up rule `{escape(plan['rule'])}`"
    if plan.get("cancelled_at"):
        who = f"by <@{plan['cancelled_by']}>" if plan.get("cancelled_by") else "on the retraction"
        line += f" · cancel asked {who} at {utc(plan.get('cancelled_at'))}"
    if plan.get("group_id"):
        line += f"\n{plan['facility'].upper()} request group {link(plan.get('group_url'), str(plan['group_id']))}"
        if plan.get("request_states"):
            line += f": {standing(plan['request_states'])}"
    if plan.get("note"):
        line += f"\n{escape(plan['note'])}"
    if status == "proposed":
        line += f"\nExpires at {utc(plan.get('expires'))}."
    blocks.append(section(line))
    buttons = []
    if status == "proposed":
        buttons = [{"type": "button", "action_id": PLAN_APPROVE, "value": str(plan["id"]), "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve and submit"}},
                   {"type": "button", "action_id": PLAN_REJECT, "value": str(plan["id"]), "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"}}]
    elif status == "superseded":
        buttons = [{"type": "button", "action_id": PLAN_REPLAN, "value": str(plan["id"]),
                    "text": {"type": "plain_text", "text": "Re-plan on the latest sky map"}}]
    elif status == "submitted":
        buttons = [{"type": "button", "action_id": PLAN_CANCEL, "value": str(plan["id"]), "style": "danger",
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "confirm": {"title": {"type": "plain_text", "text": "Cancel this plan?"},
                                "text": {"type": "plain_text", "text": "Its requests not yet observed are cancelled "
                                                                      "at the facility."},
                                "confirm": {"type": "plain_text", "text": "Cancel the plan"},
                                "deny": {"type": "plain_text", "text": "Keep it"}}}]
    if "COMPLETED" in (plan.get("request_states") or {}).values():  # something was observed: it can be reported
        buttons.append({"type": "button", "action_id": PLAN_HERMES, "value": str(plan["id"]),
                        "text": {"type": "plain_text", "text": "Prepare HERMES report"}})
        buttons.append({"type": "button", "action_id": CIRCULAR_DRAFT, "value": str(plan["event_id"]),
                        "text": {"type": "plain_text", "text": "Draft circular"}})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"plan:{plan['id']}", "elements": buttons})
    blocks.append(context(f"plan {plan['id']} · window {s['window_start'][:16].replace('T', ' ')} –"
                          f" {s['window_end'][:16].replace('T', ' ')} UTC"))
    text = (f"{title}: {s['n_fields']} fields, {100 * s['covered_prob']:.1f}% covered — "
            f"{_PLAN_STATUS.get(status, status).split(' ', 1)[1]}")
    return text, limit_blocks(blocks)
