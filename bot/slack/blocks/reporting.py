"""GCN Circular drafts in the thread: the draft's message with Edit and Send, the edit form, the outcome."""

from __future__ import annotations

from bot.commands.records import CircularView
from bot.slack.blocks.kit import Blocks, context, escape, link, section

__all__ = ["CIRCULAR_DRAFT", "CIRCULAR_EDIT", "CIRCULAR_SEND", "CIRCULAR_VIEW", "BODY_CHUNK", "circular_draft",
           "circular_modal", "circular_sent"]

CIRCULAR_DRAFT = "circular_draft"  # the plan message's Draft circular button
CIRCULAR_EDIT = "circular_edit"
CIRCULAR_SEND = "circular_send"
CIRCULAR_VIEW = "circular_edit_view"
BODY_CHUNK = 3000  # Slack's plain_text_input holds at most 3,000 characters: a longer body takes two boxes


def circular_draft(view: CircularView) -> tuple[str, Blocks]:
    """The draft: its subject, how long it is, who drafted and edited it, Edit and Send (or how to submit it)."""
    who = f"drafted{f' by <@{escape(view.drafted_by)}>' if view.drafted_by else ''}" + \
        (f", edited by <@{escape(view.edited_by)}>" if view.edited_by else "")
    text = f"GCN Circular draft {view.circular_id} (version {view.version}) for {view.event_id}"
    blocks: Blocks = [section(f":memo: *{escape(text)}*\n*Subject:* {escape(view.subject)}\n"
                              f"{view.lines} lines ({who}); the text is in the snippet below, the picture after it.")]
    buttons = [{"type": "button", "action_id": CIRCULAR_EDIT, "value": str(view.circular_id),
                "text": {"type": "plain_text", "text": "Edit"}}]
    if view.can_send:
        buttons.append({"type": "button", "action_id": CIRCULAR_SEND, "value": str(view.circular_id),
                        "style": "primary", "text": {"type": "plain_text", "text": "Send to GCN"},
                        "confirm": {"title": {"type": "plain_text", "text": "Send to GCN?"},
                                    "text": {"type": "plain_text", "text": "The circular goes out through HERMES to "
                                             "GCN, once, for everyone to read."},
                                    "confirm": {"type": "plain_text", "text": "Send"},
                                    "deny": {"type": "plain_text", "text": "Not yet"}}})
        blocks.append(context("Send: approvers only (GWBOT_APPROVERS), through HERMES with submit_to_gcn; the HERMES "
                              "user needs a GCN account linked on its profile page."))
    else:
        blocks.append(context(f"HERMES is not set up here (HERMES_API_TOKEN): copy the text and submit it at "
                              f"{link(view.gcn_submit_url, 'gcn.nasa.gov/circulars/new')}."))
    blocks.append({"type": "actions", "elements": buttons})
    return text, blocks


def circular_sent(view: CircularView) -> tuple[str, Blocks]:
    """What sending came to: GCN's number (and HERMES's message), or HERMES's objection in words."""
    if view.status == "sent":
        url = f"https://gcn.nasa.gov/circulars/{view.gcn_id}"
        gcn = f"GCN Circular {escape(view.gcn_id)} ({link(url, 'read it')})" if view.gcn_id else \
            "GCN did not return a circular number (see HERMES)"
        text = f"Circular draft {view.circular_id} sent: {gcn}"
        return escape(f"Circular {view.circular_id} for {view.event_id} sent"), [
            section(f":white_check_mark: {text}; HERMES message {link(view.hermes_url, view.hermes_uuid or '')}.")]
    text = f"Circular draft {view.circular_id} was not sent: {view.problem}"
    return escape(text), [section(f":warning: {escape(text)}"),
                          context("Fix it (Edit, or HERMES's profile page), then Send again.")]


def circular_modal(view: CircularView, body: str, channel: str) -> dict:
    """Edit: the subject and the body pre-filled."""
    first, rest = body[:BODY_CHUNK], body[BODY_CHUNK:2 * BODY_CHUNK]
    blocks = [{"type": "input", "block_id": "subject", "label": {"type": "plain_text", "text": "Subject"},
               "element": {"type": "plain_text_input", "action_id": "value", "initial_value": view.subject,
                           "max_length": 300}},
              {"type": "input", "block_id": "body", "label": {"type": "plain_text", "text": "Body"},
               "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                           "initial_value": first, "max_length": BODY_CHUNK}},
              {"type": "input", "block_id": "body_more", "optional": True,
               "label": {"type": "plain_text", "text": "Body, continued"},
               "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                           "initial_value": rest, "max_length": BODY_CHUNK}}]
    return {"type": "modal", "callback_id": CIRCULAR_VIEW, "title": {"type": "plain_text", "text": "Edit circular"},
            "submit": {"type": "plain_text", "text": "Keep"}, "private_metadata": f"{view.circular_id}|{channel}",
            "blocks": blocks}
