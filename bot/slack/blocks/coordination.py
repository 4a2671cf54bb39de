"""The community: HERMES reports and messages, Treasure Map coverage, candidates marked for a report."""

from __future__ import annotations

from bot.commands.records import CoverageView, HermesNote, Marked, MarkOutcome, ReportView
from bot.slack.blocks.kit import Blocks, context, escape, header, link, section, utc
from bot.slack.blocks.plans import HERMES_PUBLISH

__all__ = ["coverage_message", "hermes_message", "hermes_report", "marked_text"]


def marked_text(marked: Marked) -> str:
    """What marking a candidate for the HERMES report did."""
    what, event = escape(marked.object_id), escape(marked.event_id)
    if marked.outcome is MarkOutcome.GONE:
        return f"{what} is not a candidate of {event} any more."
    if marked.outcome is MarkOutcome.ALREADY:
        return f"{what} was already marked by <@{marked.by}>."
    return f"Marked {what}: it goes into {event}'s HERMES reports as a target."


def hermes_report(view: ReportView) -> tuple[str, Blocks]:
    """A prepared HERMES report in the plan's thread: what it says, HERMES's verdict, Publish / Edit in HERMES."""
    lines = [f"*{escape(view.title)}*", f"{view.fields} observed fields as non-detections at their depth"
             + (f"; marked candidates: {escape(', '.join(view.targets))}" if view.targets else "; no marked candidates")
             + f" · topic `{escape(view.topic)}`"]
    if view.errors:
        lines.append("*HERMES objects:*\n" + "\n".join(f"• {escape(e)}" for e in view.errors[:10]))
    elif view.status == "prepared" and view.can_publish:
        lines.append("HERMES accepts it.")
    if view.note:
        lines.append(f"_{escape(view.note)}_")
    state = {"publishing": "Publishing…", "failed": "Not published.",
             "published": f"Published to HERMES by <@{view.published_by}>: "
                          f"{link(view.message_url, view.uuid or 'message')}"}.get(view.status)
    if state:
        lines.append(f"*{state}*")
    blocks: Blocks = [section("\n".join(lines))]
    buttons: list[dict] = []
    if view.status == "prepared" and view.can_publish:
        buttons.append({"type": "button", "action_id": HERMES_PUBLISH, "value": str(view.id), "style": "primary",
                        "text": {"type": "plain_text", "text": "Publish"}})
    if view.edit_url and view.status in ("prepared", "failed"):
        buttons.append({"type": "button", "action_id": "hermes_edit", "url": view.edit_url,
                        "text": {"type": "plain_text", "text": "Edit in HERMES"}})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"hermes:{view.id}:{view.status}", "elements": buttons})
    blocks.append(context(f"HERMES report {view.id} of {view.event_id} · only approvers may publish, once"))
    return f"HERMES report {view.id}: {escape(view.title)} ({view.status})", blocks


def hermes_message(note: HermesNote) -> tuple[str, Blocks]:
    """Someone's HERMES message about the event, posted like a circular."""
    blocks = [header("HERMES message"), section(f"*{escape(note.title)}*"),
              section(escape(note.text.strip()) or "(no text)"),
              context(" · ".join([link(note.url, "on HERMES"),
                                  *([f"by {escape(note.authors)}"] if note.authors else []), escape(note.topic)]))]
    return f"HERMES: {escape(note.title)}", blocks


def coverage_message(view: CoverageView) -> tuple[str, Blocks]:
    """/gw coverage: who has pointed where for the event (Treasure Map), and the probability it holds."""
    title = f"{view.event_id} · coverage on Treasure Map"
    if view.read_at is None:
        body = f"Treasure Map could not be read: {escape(view.problem or 'no answer')}."
    elif not view.counted:
        body = "No pointings on the current map after the merger yet."
    else:
        who = ", ".join(f"{escape(name)} {n}" for name, n in sorted(view.instruments.items(), key=lambda kv: -kv[1]))
        body = f"{view.counted} pointings ({view.ours} ours) by {len(view.instruments)} instruments: {who}."
        for family, (done, planned) in view.by_family.items():
            body += f"\n• {family}: {100 * done:.1f}% of the probability observed"
            if planned > 0.0005:
                body += f", {100 * planned:.1f}% more planned"
    if view.problem and view.read_at is not None:
        body += f"\n_The last read failed ({escape(view.problem)}); this is from {utc(view.read_at)}._"
    blocks: Blocks = [header(title), section(body),
                      context("Dashed: planned · solid: observed · 50% and 90% contours of the current map")]
    return f"{title}: {view.counted} pointings", blocks
