"""The /gw slash command, the "Check a candidate" button and modal, and CSV checks, as a Bolt app.

Every listener acknowledges first (Slack wants an answer within 3 seconds)
and does the work after, in Bolt's lazy listeners, answering through
``respond()`` (the response URL) or the Web API. Errors become an ephemeral
message that says what happened and how to type it right; never a stack
trace, never silence.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.brokers.record import mjd_to_unix
from bot.candidates.active import where_to_post
from bot.candidates.vetting import Vote
from bot.commands.answers import Answers
from bot.commands.parse import (
    USAGE,
    Command,
    Transient,
    UsageError,
    parse,
    parse_candidate,
    parse_candidate_query,
    parse_csv,
    parse_plan,
)
from bot.commands.records import SHOWN_CANDIDATES, CheckAnswer, Picture
from bot.config import ConfigError, Settings
from bot.coordination.hermes import HermesError
from bot.coordination.hermes_report import Reports
from bot.delivery.actions import Channel, Post, Thread, Upload
from bot.delivery.outbox import Outbox, enqueue
from bot.plans.errors import PlanError
from bot.plans.lifecycle import NotAllowed, PlanBook
from bot.plans.request import PlanRequest
from bot.plans.status import PlanStatus, id_list
from bot.reporting.drafts import Circulars
from bot.slack import blocks as bk
from bot.vetting.states import Status as VetStatus

log = logging.getLogger(__name__)

MODAL_ID = "check_modal"
HELP_ORDER = ("list", "info", "skymap", "check", "candidates", "coverage", "join", "status", "plan", "circular",
              "rules", "visibility")
FIELDS = ("ra", "dec", "distance", "time")
MAX_CSV_BYTES = 5 * 2**20


def _input(block_id: str, label: str, hint: str, optional: bool = False) -> dict:
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {"type": "plain_text_input", "action_id": "value",
                        "placeholder": {"type": "plain_text", "text": hint}}}


def check_modal(event_id: str, channel: str | None, thread_ts: str | None) -> dict:
    """The "Check a candidate" form (a pure Block Kit builder)."""
    return {
        "type": "modal", "callback_id": MODAL_ID,
        "private_metadata": json.dumps({"event_id": event_id, "channel": channel, "thread_ts": thread_ts}),
        "title": {"type": "plain_text", "text": f"Check vs {event_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Check"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("ra", "RA", "197.45 (degrees) or 13:09:48.1 (hours)"),
            _input("dec", "Dec", "-23.38 or -23:22:53"),
            _input("distance", "Distance (Mpc)", "e.g. 40", optional=True),
            _input("time", "Time seen (UTC)", "e.g. 2023-09-19T03:00:00Z", optional=True),
        ],
    }


def _modal_values(view: dict) -> dict[str, str]:
    state = view.get("state", {}).get("values", {})
    return {k: (state.get(k, {}).get("value", {}).get("value") or "").strip() for k in FIELDS}


@dataclass
class Reply:
    """A message for Slack: its words, whether everyone in the channel sees it, and a file to share beside it."""

    text: str
    blocks: list = field(default_factory=list)
    public: bool = False
    file: Picture | None = None


def _checked(answer: CheckAnswer) -> Reply:
    return Reply(*bk.check_message(answer.result, SHOWN_CANDIDATES), public=True, file=answer.csv)


def _respond_reply(respond, reply: Reply) -> None:
    respond(text=reply.text, blocks=reply.blocks or None,
            response_type="in_channel" if reply.public else "ephemeral", replace_original=False)


def _error(respond, message: str) -> None:
    respond(text=message, blocks=[bk.section(f":warning: {message}")], response_type="ephemeral",
            replace_original=False)


class Commands:
    """The listeners, with what they need: answers (compute) and a Web API client (deliver)."""

    def __init__(self, settings: Settings, answers: Answers, client: WebClient, outbox: Outbox,
                 plans: PlanBook | None = None, reports: Reports | None = None,
                 circulars: Circulars | None = None) -> None:
        self.settings = settings
        self.circulars = circulars
        self.answers = answers
        self.client = client
        self.outbox = outbox  # every message and file that must survive a restart goes through it
        self.plans = plans
        self.reports = reports

    # --- slash command ------------------------------------------------------------------------

    def ack_command(self, ack) -> None:
        ack()

    def run_command(self, body: dict, respond, client: WebClient) -> None:
        try:
            self._run(parse(body.get("text", "")), body, respond, client)
        except (UsageError, PlanError) as exc:  # the person's mistake, said in words
            _error(respond, str(exc))
        except Exception:
            log.exception("/gw %s failed", body.get("text", ""))
            _error(respond, "Sorry, that failed on my side; it has been logged. Try again, or /gw status.")

    def _run(self, cmd: Command, body: dict, respond, client: WebClient) -> None:
        channel, user = str(body.get("channel_id") or ""), str(body.get("user_id") or "")
        if cmd.name == "help":
            _respond_reply(respond, Reply(*bk.help_message([USAGE[name] for name in HELP_ORDER])))
        elif cmd.name == "list":
            _respond_reply(respond, Reply(*bk.events_message(self.answers.events(cmd.count))))
        elif cmd.name == "status":
            _respond_reply(respond, Reply(*bk.status_message(self.answers.status_report())))
        elif cmd.name == "rules":  # the event is optional: named, or this event's channel, or none
            event = self.answers.event(cmd.event_id, channel, USAGE["rules"]) if cmd.event_id \
                else self.answers.event_of_channel(channel)
            _respond_reply(respond, Reply(*bk.rules_message(self.answers.rules(event))))
        else:
            event = self.answers.event(cmd.event_id, channel, USAGE[cmd.name])
            if cmd.name == "info":
                _respond_reply(respond, Reply(*bk.info_message(self.answers.info(event)), public=True))
            elif cmd.name == "check":
                reply = _checked(self.answers.check(event, list(cmd.candidates)))
                _respond_reply(respond, reply)
                self._send(channel, reply, None, event.event_id)
            elif cmd.name == "skymap":
                picture = self.answers.skymap(event)
                self._send(channel, Reply(picture.title, public=True, file=picture), None, event.event_id)
            elif cmd.name == "join":
                self._join(client, event, user, respond)
            elif cmd.name == "plan":
                self._plan(client, event, parse_plan(cmd.rest), user, channel, respond)
            elif cmd.name == "coverage":
                respond(text=f"working… reading Treasure Map for {event.event_id}", response_type="ephemeral")
                covered = self.answers.coverage(event)
                self._send(channel, Reply(*bk.coverage_message(covered.view), public=True, file=covered.picture), None,
                           event.event_id, file_only=False)
            elif cmd.name == "visibility":
                respond(text=f"working… what {cmd.rest[0]} can observe of {event.event_id}", response_type="ephemeral")
                picture = self.answers.visibility(event, cmd.rest[0], cmd.rest[1] if len(cmd.rest) > 1 else None)
                self._send(channel, Reply(picture.title, public=True, file=picture), None, event.event_id)
            elif cmd.name == "circular":
                respond(text=f"working… drafting {event.event_id}'s GCN Circular", response_type="ephemeral")
                where = where_to_post(event)
                if self.circulars is None:
                    raise UsageError("GCN Circular drafts are not set up in this bot.")
                if where is None:
                    raise UsageError(f"{event.event_id} has no channel or thread to draft its circular in.")
                self.circulars.draft(event.event_id, user, where.channel, where.thread, "--rejected" in cmd.rest)
                self.outbox.wake()
            elif cmd.name == "candidates":
                query = parse_candidate_query(cmd.rest)
                if query.summary:  # the scanning summary: one message, for the channel
                    _respond_reply(respond, Reply(*bk.scanning_summary(self.answers.scan(event)), public=True))
                    return
                listed = self.answers.candidates(event, query)
                _respond_reply(respond, Reply(*bk.candidates_message(listed.event_id, listed.lines, len(listed.lines),
                                                                     listed.shown)))

    def _send(self, channel: str, reply: Reply | None, thread_ts: str | None, event_id: str | None,
              file_only: bool = True) -> None:
        """Queue a reply (its file, and with ``file_only=False`` its message too) through the outbox."""
        where, thread = Channel(name=channel), Thread(ts=thread_ts) if thread_ts else None
        with self.outbox.store.session() as s:
            if reply is not None and not file_only:
                enqueue(s, Post(where, reply.text, reply.blocks, thread), event_id=event_id)
            if reply is not None and reply.file is not None:
                enqueue(s, Upload(where, reply.file.filename, reply.file.title, thread), event_id=event_id,
                        file=reply.file.data)
        self.outbox.wake()

    def _say(self, channel: str, text: str, thread_ts: str | None) -> None:
        with self.outbox.store.session() as s:
            enqueue(s, Post(Channel(name=channel), text, thread=Thread(ts=thread_ts) if thread_ts else None))
        self.outbox.wake()

    def _join(self, client: WebClient, event, user: str, respond) -> None:
        if not event.channel_id or event.channel_id.startswith("#"):
            raise UsageError(f"{event.event_id} has no channel (only events that pass the routing rules get one).")
        try:
            client.conversations_invite(channel=event.channel_id, users=user)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                raise UsageError(f"I could not invite you to <#{event.channel_id}>: {exc.response.get('error')}") \
                    from None
            respond(text=f"You are already in <#{event.channel_id}>.", response_type="ephemeral")
            return
        respond(text=f"Invited you to <#{event.channel_id}>.", response_type="ephemeral")

    # --- observation plans ----------------------------------------------------------------------------

    def _book(self) -> PlanBook:
        if self.plans is None:
            raise UsageError("Observation plans are not set up in this bot.")
        return self.plans

    def _plan(self, client: WebClient, event, request, user: str, channel: str, respond) -> None:
        plans = self._book()
        if event.retracted:
            raise UsageError(f"{event.event_id} was retracted: there is nothing to observe.")
        plans.check(request)
        respond(text=f"working… planning {event.event_id} for {request.facility}", response_type="ephemeral")
        plans.propose(event.event_id, request, user, channel)  # the message and picture go via the outbox
        self.outbox.wake()

    def ack_only(self, ack) -> None:
        ack()

    def decide(self, body: dict, client: WebClient, approve: bool) -> None:
        action, (user, channel) = body["actions"][0], _who(body)
        plans = self._book()
        try:
            changed, row = plans.decide(int(action["value"]), user, approve)
        except NotAllowed as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=f":no_entry: {exc}")
            return
        if not changed:
            client.chat_postEphemeral(channel=channel, user=user,
                                      text=f"Plan {row.id} is {row.status}: nothing was done.")
            return
        if approve:
            row = plans.submit(row.id)
        line = None
        if row.status == PlanStatus.SUBMITTED:
            line = (f"Submitted to {row.facility.upper()} as request group {bk.link(row.group_url, str(row.group_id))}"
                    f" with {id_list(list(row.request_states))}.")
        elif row.status in (PlanStatus.FAILED, PlanStatus.APPROVED):
            line = f":warning: {bk.escape(row.note)}"
        plans.tell(row, line)
        self.outbox.wake()

    def approve(self, body: dict, client: WebClient) -> None:
        self.decide(body, client, True)

    def reject(self, body: dict, client: WebClient) -> None:
        self.decide(body, client, False)

    def cancel(self, body: dict, client: WebClient) -> None:
        """Cancel: approvers only; the facility is asked once (through the outbox), and a second press says so."""
        (user, channel), plans = _who(body), self._book()
        try:
            changed, row = plans.cancel(int(body["actions"][0]["value"]), user)
        except NotAllowed as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=f":no_entry: {exc}")
            return
        if changed:
            text = f"Cancelling plan {row.id} at {row.facility.upper()}; its thread will say what was cancelled."
        elif row.status in (PlanStatus.CANCELLING, PlanStatus.CANCELLED):
            who = f"<@{row.cancelled_by}>" if row.cancelled_by else "the retraction"
            text = f"Plan {row.id} was already cancelled by {who}: nothing more was done."
        elif row.status == PlanStatus.DONE:
            text = f"Plan {row.id}'s requests had all ended at {row.facility.upper()}: there was nothing to cancel."
        else:
            text = f"Plan {row.id} is {row.status}: only a submitted plan can be cancelled."
        client.chat_postEphemeral(channel=channel, user=user, text=text)
        self.outbox.wake()

    def replan(self, body: dict, client: WebClient) -> None:
        plans, (user, _) = self._book(), _who(body)
        old = plans.get(int(body["actions"][0]["value"]))
        if old is None or not old.channel_id:
            return
        try:
            plans.propose(old.event_id, PlanRequest(**old.request), user, old.channel_id)
        except PlanError as exc:
            client.chat_postEphemeral(channel=old.channel_id, user=user, text=f":warning: {exc}")
            return
        self.outbox.wake()

    # --- HERMES reports and marked candidates ------------------------------------------------------

    def prepare_hermes(self, body: dict, client: WebClient) -> None:
        """A plan's Prepare HERMES report button: build, check with HERMES, post it in the plan's thread."""
        (user, channel), message = _who(body), body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts")
        if self.reports is None:
            client.chat_postEphemeral(channel=channel, user=user, text="HERMES reports are not set up in this bot.")
            return
        try:
            self.reports.prepare(int(body["actions"][0]["value"]), user, channel, thread)
        except HermesError as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=f":warning: {bk.escape(str(exc))}")
            return
        self.outbox.wake()

    def publish_hermes(self, body: dict, client: WebClient) -> None:
        """Publish: approvers only, once (the report is claimed before anything is sent)."""
        user, channel = _who(body)
        if self.reports is None:
            return
        _, text = self.reports.publish(int(body["actions"][0]["value"]), user)
        client.chat_postEphemeral(channel=channel, user=user, text=text)
        self.outbox.wake()

    def mark_candidate(self, body: dict, client: WebClient) -> None:
        """A candidate's Mark for report button: it goes into the event's HERMES reports as a target."""
        user, channel = _who(body)
        event_id, broker, object_id = (body["actions"][0]["value"].split("|", 2) + ["", ""])[:3]
        text = bk.marked_text(self.answers.mark_candidate(event_id, broker, object_id, user))
        message = body.get("message") or {}
        client.chat_postEphemeral(channel=channel, user=user, text=text,
                                  thread_ts=message.get("thread_ts") or message.get("ts"))

    # --- GCN Circular drafts ---------------------------------------------------------------------------

    def draft_circular(self, body: dict, client: WebClient) -> None:
        """A plan's Draft circular button: the event's draft, in the plan's thread."""
        (user, channel), message = _who(body), body.get("message") or {}
        if self.circulars is None:
            return
        try:
            self.circulars.draft(body["actions"][0]["value"], user, Channel(name=channel),
                                 Thread(ts=message.get("thread_ts") or message.get("ts")))
        except PlanError as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=f":warning: {exc}")
            return
        self.outbox.wake()

    def open_circular(self, ack, body: dict, client: WebClient) -> None:
        """Edit: the subject and body in a form (opened at once: the trigger expires in 3 s)."""
        ack()
        row = self.circulars.get(int(body["actions"][0]["value"])) if self.circulars else None
        if row is None or self.circulars is None:
            return
        client.views_open(trigger_id=body["trigger_id"], view=bk.circular_modal(
            self.circulars.view(row), row.body, str((body.get("channel") or {}).get("id") or "")))

    def edit_circular(self, body: dict, view: dict, client: WebClient) -> None:
        values = {block: next(iter(v.values())) for block, v in (view.get("state") or {}).get("values", {}).items()}
        circular, channel = ((view.get("private_metadata") or "").split("|") + [""])[:2]
        user = str((body.get("user") or {}).get("id") or "")
        text = (values.get("body") or {}).get("value") or ""
        text += (values.get("body_more") or {}).get("value") or ""
        if self.circulars is None:
            return
        said = self.circulars.edit(int(circular), user, (values.get("subject") or {}).get("value") or "", text)
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=said)
        self.outbox.wake()

    def send_circular(self, body: dict, client: WebClient) -> None:
        """Send to GCN: approvers only, once."""
        user, channel = _who(body)
        if self.circulars is None:
            return
        _, text = self.circulars.send(int(body["actions"][0]["value"]), user)
        client.chat_postEphemeral(channel=channel, user=user, text=text)
        self.outbox.wake()

    # --- the team's verdict on a candidate ----------------------------------------------------------

    def vote(self, body: dict, client: WebClient) -> None:
        """Interesting or Follow up: recorded at once; the candidate's message shows it, its thread says it."""
        action = body["actions"][0]
        status = next(st for st, action_id in bk.CANDIDATE_VOTES.items() if action_id == action["action_id"])
        self._vote(body, client, int(action["value"]), status, None)

    def _vote(self, body: dict, client: WebClient, candidate_id: int, status: VetStatus, reason: str | None,
              where: tuple[str, str | None, str | None] | None = None) -> None:
        user, channel = _who(body)
        message = body.get("message") or {}
        channel, ts, thread = where or (channel, message.get("ts"), message.get("thread_ts"))
        line = self.answers.vote(Vote(candidate_id, user, status, reason, channel or None, ts, thread))
        if line is None:
            client.chat_postEphemeral(channel=channel, user=user, text="That candidate is no longer kept.")
            return
        self.outbox.wake()

    def open_reject(self, ack, body: dict, client: WebClient) -> None:
        """Not it: ask why, in a form (opened at once: the trigger expires in 3 s)."""
        ack()
        message = body.get("message") or {}
        candidate, object_id = (body["actions"][0]["value"].split("|", 1) + ["this candidate"])[:2]
        client.views_open(trigger_id=body["trigger_id"], view=bk.reject_modal(
            int(candidate), object_id, (body.get("channel") or {}).get("id"),
            "|".join((message.get("ts") or "", message.get("thread_ts") or ""))))

    def not_it(self, body: dict, view: dict, client: WebClient) -> None:
        """The Not it form, sent: the reason (and words) recorded as the verdict."""
        values = {block: next(iter(v.values())) for block, v in (view.get("state") or {}).get("values", {}).items()}
        reason = (values.get("reason") or {}).get("selected_option", {}).get("value") or "other"
        note = ((values.get("note") or {}).get("value") or "").strip()
        candidate, channel, ts, thread = ((view.get("private_metadata") or "").split("|") + ["", "", "", ""])[:4]
        self._vote(body, client, int(candidate), VetStatus.REJECTED, f"{reason}: {note}" if note else reason,
                   (channel, ts or None, thread or None))

    def show_evidence(self, body: dict, client: WebClient) -> None:
        """Light curve: the candidate's evidence picture, drawn and posted in its thread."""
        user, channel = _who(body)
        message = body.get("message") or {}
        if not self.answers.ask_evidence(int(body["actions"][0]["value"]), channel,
                                         message.get("thread_ts") or message.get("ts")):
            client.chat_postEphemeral(channel=channel, user=user, text="That candidate is no longer kept.")
            return
        self.outbox.wake()

    # --- the button and its modal ---------------------------------------------------------------

    def open_modal(self, ack, body: dict, client: WebClient) -> None:
        ack()
        action = body["actions"][0]
        message = body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts")
        client.views_open(trigger_id=body["trigger_id"],
                          view=check_modal(action["value"], (body.get("channel") or {}).get("id"), thread))

    def ack_modal(self, ack, view: dict) -> None:
        values = _modal_values(view)
        tokens = [values["ra"], values["dec"]] + [values[k] for k in ("distance", "time") if values[k]]
        try:
            parse_candidate(tokens)
        except UsageError as exc:
            reason = str(exc).splitlines()[0]
            field = "dec" if reason.startswith("Dec") else "distance" if "distance" in reason else \
                "time" if reason.startswith("time") else "ra"
            ack(response_action="errors", errors={field: reason})
            return
        ack()

    def run_modal(self, view: dict, body: dict, client: WebClient) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        values = _modal_values(view)
        tokens = [values["ra"], values["dec"]] + [values[k] for k in ("distance", "time") if values[k]]
        user, _ = _who(body)
        channel, thread = str(meta.get("channel") or ""), meta.get("thread_ts")
        try:
            candidate = parse_candidate(tokens, label="candidate from the form")
            event = self.answers.event(meta.get("event_id"), None, USAGE["check"])
            reply = _checked(self.answers.check(event, [candidate]))
            self._send(channel, reply, thread, event.event_id, file_only=False)
        except UsageError as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=str(exc), thread_ts=thread)
        except Exception:
            log.exception("candidate check from the modal failed")
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread,
                                      text="Sorry, that check failed on my side; it has been logged.")

    def check_broker_candidate(self, body: dict, client: WebClient) -> None:
        """A digest's Check button: the same check as /gw check, with the candidate's time and host distance,
        posted in the digest's thread."""
        event_id, ra, dec, mjd, distance, object_id = bk.parse_check_value(body["actions"][0]["value"])
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts")
        user, _ = _who(body)
        try:
            event = self.answers.event(event_id, None, USAGE["check"])
            when = datetime.fromtimestamp(mjd_to_unix(mjd), UTC)
            reply = _checked(self.answers.check(event, [Transient(ra, dec, distance, when, object_id)]))
            self._send(channel, reply, thread, event.event_id, file_only=False)
        except UsageError as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=str(exc), thread_ts=thread)

    # --- a CSV shared with "/gw check SID" as its comment ---------------------------------------------

    def ack_event(self, ack) -> None:
        ack()

    def run_file_check(self, event: dict, client: WebClient) -> None:
        text = (event.get("text") or "").strip()
        files = event.get("files") or []
        if event.get("subtype") != "file_share" or not text.lower().startswith("/gw check") or not files:
            return
        channel, ts, user = str(event.get("channel") or ""), str(event.get("ts") or ""), str(event.get("user") or "")

        try:
            cmd = parse(text[len("/gw"):])
            target = self.answers.event(cmd.event_id, channel, USAGE["check"])
            self._say(channel, f"working… checking the candidates in {bk.escape(files[0].get('name', 'the file'))}"
                               f" against {target.event_id}", ts)
            candidates = list(cmd.candidates) + parse_csv(self._download(files[0]))
            self._send(channel, _checked(self.answers.check(target, candidates)), ts, target.event_id,
                       file_only=False)
        except UsageError as exc:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=ts, text=f":warning: {exc}")
        except Exception:
            log.exception("CSV check failed")
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=ts,
                                      text="Sorry, that check failed on my side; it has been logged.")

    def _download(self, file: dict) -> bytes:
        """The shared file's bytes, fetched with the bot token only from Slack's own file host."""
        url = file.get("url_private_download") or file.get("url_private")
        if not url:
            raise UsageError("I cannot see that file's contents (no download URL).")
        if not slack_file_url(url, self.settings.slack.api_url):
            log.warning("refused to download a shared file from outside Slack", extra={"url": url[:200]})
            raise UsageError("That file is not stored on Slack, so I will not fetch it. Upload the CSV to Slack.")
        if int(file.get("size") or 0) > MAX_CSV_BYTES:
            raise UsageError(f"that file is larger than {MAX_CSV_BYTES // 2**20} MB")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.settings.slack.bot_token}"})
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.read(MAX_CSV_BYTES + 1)


def _who(body: dict) -> tuple[str, str]:
    """(user, channel) of an interactive payload."""
    return str((body.get("user") or {}).get("id") or ""), str((body.get("channel") or {}).get("id") or "")


def slack_file_url(url: str, api_url: str) -> bool:
    """Is ``url`` on Slack's file host? files.slack.com for Slack itself; the API's own host for a stand-in or
    a proxy configured as SLACK_API_URL. The bot token is sent nowhere else."""
    api = urllib.parse.urlsplit(api_url)
    target = urllib.parse.urlsplit(url)
    if api.hostname in ("slack.com", "www.slack.com"):
        return target.scheme == "https" and target.hostname == "files.slack.com" and target.port in (None, 443)
    return target.scheme == api.scheme and target.hostname == api.hostname and target.port == api.port


def build_app(settings: Settings, answers: Answers, socket_mode: bool, outbox: Outbox,
              client: WebClient | None = None, plans: PlanBook | None = None, reports: Reports | None = None,
              circulars: Circulars | None = None) -> App:
    """The Bolt app with all listeners registered."""
    if not settings.slack.bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is needed for the /gw commands")
    if not socket_mode and not settings.slack.signing_secret:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET to verify requests (or set SLACK_APP_TOKEN for "
                          "Socket Mode)")
    client = client or WebClient(token=settings.slack.bot_token, base_url=settings.slack.api_url)
    app = App(client=client, signing_secret=settings.slack.signing_secret or "socket-mode",
              request_verification_enabled=not socket_mode, process_before_response=False)
    handlers = Commands(settings, answers, client, outbox, plans, reports, circulars)
    app.command("/gw")(ack=handlers.ack_command, lazy=[handlers.run_command])
    app.action(bk.PLAN_APPROVE)(ack=handlers.ack_only, lazy=[handlers.approve])
    app.action(bk.PLAN_REJECT)(ack=handlers.ack_only, lazy=[handlers.reject])
    app.action(bk.PLAN_REPLAN)(ack=handlers.ack_only, lazy=[handlers.replan])
    app.action(bk.PLAN_CANCEL)(ack=handlers.ack_only, lazy=[handlers.cancel])
    app.action(bk.CHECK_ACTION)(handlers.open_modal)
    app.action(bk.CANDIDATE_CHECK)(ack=handlers.ack_only, lazy=[handlers.check_broker_candidate])
    app.action(bk.CANDIDATE_MARK)(ack=handlers.ack_only, lazy=[handlers.mark_candidate])
    for action_id in bk.CANDIDATE_VOTES.values():
        app.action(action_id)(ack=handlers.ack_only, lazy=[handlers.vote])
    app.action(bk.CANDIDATE_REJECT)(handlers.open_reject)
    app.view(bk.REJECT_VIEW)(ack=handlers.ack_only, lazy=[handlers.not_it])
    app.action(bk.CANDIDATE_EVIDENCE)(ack=handlers.ack_only, lazy=[handlers.show_evidence])
    app.action(bk.CIRCULAR_DRAFT)(ack=handlers.ack_only, lazy=[handlers.draft_circular])
    app.action(bk.CIRCULAR_EDIT)(handlers.open_circular)
    app.view(bk.CIRCULAR_VIEW)(ack=handlers.ack_only, lazy=[handlers.edit_circular])
    app.action(bk.CIRCULAR_SEND)(ack=handlers.ack_only, lazy=[handlers.send_circular])
    app.action(bk.PLAN_HERMES)(ack=handlers.ack_only, lazy=[handlers.prepare_hermes])
    app.action(bk.HERMES_PUBLISH)(ack=handlers.ack_only, lazy=[handlers.publish_hermes])
    app.action("hermes_edit")(handlers.ack_only)  # a link button: Slack still tells us it was clicked
    app.view(MODAL_ID)(ack=handlers.ack_modal, lazy=[handlers.run_modal])
    app.event("message")(ack=handlers.ack_event, lazy=[handlers.run_file_check])
    return app


def start(settings: Settings, answers: Answers, outbox: Outbox, plans: PlanBook | None = None,
          reports: Reports | None = None, circulars: Circulars | None = None) -> Callable[[], None]:
    """Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on PORT; returns a function that stops it."""
    if settings.slack.app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app = build_app(settings, answers, socket_mode=True, outbox=outbox, plans=plans, reports=reports,
                        circulars=circulars)
        handler = SocketModeHandler(app, settings.slack.app_token)
        handler.connect()
        log.info("slash commands: Socket Mode connected")
        return handler.close
    from bot.slack.http import serve

    server = serve(build_app(settings, answers, socket_mode=False, outbox=outbox, plans=plans, reports=reports,
                             circulars=circulars),
                   settings.slack.port, signing_secret=settings.slack.signing_secret)
    log.info("slash commands: HTTP mode on port %s at /slack/events", settings.slack.port)
    return server.shutdown
