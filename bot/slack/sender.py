"""Slack's sender for the outbox: posts, uploads, edits, topics, channels, retraction edits, plan messages and ops
alarms as Web API calls, worded here at send time (a plan's message shows the plan as it is when it is sent).

A post or upload whose outcome is unknown (in flight when the process died, or a timeout, dropped connection or
5xx after it was sent) is looked up first (posts by the delivery id in their metadata, uploads by their file id)
and sent again only if Slack does not have it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.delivery.actions import (
    SLACK_KINDS,
    Action,
    Alarm,
    Channel,
    Edit,
    MarkRetracted,
    OpenChannel,
    Post,
    ShowPlan,
    ShowVerdicts,
    Thread,
    Topic,
    Upload,
)
from bot.delivery.errors import Rejected, RetryLater
from bot.delivery.outbox import Outbox, Sender, enqueue
from bot.plans.verdict import verdict_from_json
from bot.slack import blocks as bk
from bot.slack.target import SlackTarget
from bot.store import Store
from bot.store.delivery import Delivery
from bot.store.events import ChannelId, Event, SummaryPost
from bot.store.plans import PlanRecord

log = logging.getLogger(__name__)

__all__ = ["NoChannel", "SlackSender", "slack_outbox"]


class NoChannel(Rejected):
    """The delivery's channel (or the message to thread under) does not exist: its creation failed. Skipped."""


class SlackSender:
    """Makes the Slack kinds of delivery (:data:`bot.delivery.actions.SLACK_KINDS`) through a :class:`SlackTarget`."""

    def __init__(self, store: Store, target: SlackTarget, ops_channel: str | None = None) -> None:
        self.store = store
        self.target = target
        self.ops_channel = ops_channel

    def say_now(self, alarm: Alarm) -> None:
        """An ops alarm straight to Slack, bypassing the store (which is the trouble)."""
        text, blocks = bk.ops_alarm(alarm.what, alarm.detail)
        self.target.post(self.target.resolve_channel(str(alarm.channel.name)), text, blocks, None, False, 0)

    def _channel(self, s, where: Channel) -> str:
        if where.event is not None:
            event = s.get(Event, where.event)
            if event is None or not event.channel_id:
                raise NoChannel(f"event {where.event} has no channel")
            return event.channel_id
        name = str(where.name)
        cached = s.get(ChannelId, name)
        if cached:
            return cached.channel_id
        channel_id = self.target.resolve_channel(name)
        s.merge(ChannelId(name=name, channel_id=channel_id))
        return channel_id

    @staticmethod
    def _thread(s, thread: Thread | None, event_id: str | None) -> str | None:
        if thread is None:
            return None
        if thread.ts:
            return thread.ts
        if thread.plan is not None:
            plan = s.get(PlanRecord, thread.plan)
            if plan is None or not plan.message_ts:
                raise NoChannel(f"plan {thread.plan} has no message to thread under")
            return plan.message_ts
        if thread.delivery is not None:
            parent = s.get(Delivery, thread.delivery)
            ts = (parent.result or {}).get("ts") if parent is not None and parent.status == "done" else None
            if not ts:
                raise NoChannel(f"delivery {thread.delivery} posted no message to thread under")
            return ts
        event = s.get(Event, event_id) if thread.event and event_id else None
        return event.thread_ts if event else None

    def __call__(self, s, d: Delivery, action: Action
                 ) -> tuple[Callable[[], Any], Callable[[Any, Delivery, Any], None]]:
        """What to call for this delivery, and how to record its result (the outbox's :data:`Sender`)."""
        t = self.target

        def nothing(_s, _d, _r) -> None:
            return None

        match action:
            case OpenChannel():
                return self._open_channel(s, action)
            case Post():
                channel = self._channel(s, action.channel)
                thread = self._thread(s, action.thread, d.event_id)
                blocks = self._blocks(s, action.blocks, d.event_id)

                def record(s2, d2, ts) -> None:
                    self._finish_post(s2, d2, action, channel, ts, blocks, root=thread is None)

                return self._posting(d, channel, action.text, blocks, thread, action.broadcast), record
            case Upload():
                return self._uploading(s, d, action), nothing
            case Edit():
                channel = self._channel(s, action.channel)
                return (lambda: t.update(channel, action.ts, action.text, action.blocks)), nothing
            case Topic():
                channel = self._channel(s, action.channel)
                return (lambda: t.set_topic(channel, action.topic)), nothing
            case MarkRetracted():
                posts = [(post.channel_id, post.ts, *bk.mark_retracted(post.text, post.blocks))
                         for post in s.scalars(select(SummaryPost).where(SummaryPost.event_id == action.event_id))]

                def edit_all() -> None:
                    for channel_id, ts, text, blocks in posts:
                        t.update(channel_id, ts, text, blocks)

                return edit_all, nothing
            case ShowPlan():
                return self._show_plan(s, d, action)
            case ShowVerdicts():
                return self._show_verdicts(s, action)
            case Alarm():
                channel = self._channel(s, action.channel)
                text, blocks = bk.ops_alarm(action.what, action.detail)
                return self._posting(d, channel, text, blocks, None, False), nothing
        raise NoChannel(f"Slack does not make deliveries of kind {d.kind}")

    def _posting(self, d: Delivery, channel: str, text: str, blocks: list, thread: str | None,
                 broadcast: bool) -> Callable[[], str]:
        """chat.postMessage, after a look-up when an earlier attempt's outcome is unknown."""
        previous = dict(d.result or {})
        d.result = {**previous, "channel": channel}  # committed before the call: lets a restart look for it
        unknown = previous.get("unknown") and previous.get("channel") == channel
        delivery_id, since, t = d.id, d.created - 60, self.target  # the post cannot be older than its delivery

        def post() -> str:
            found = t.find_post(channel, delivery_id, since) if unknown else None
            if found:
                log.info("delivery %s was already posted (ts %s): not posting again", delivery_id, found)
            return found or t.post(channel, text, blocks, thread, broadcast, delivery_id)

        return post

    def _uploading(self, s, d: Delivery, action: Upload) -> Callable[[], str]:
        channel = self._channel(s, action.channel)
        thread, data = self._thread(s, action.thread, d.event_id), d.file
        if data is None:
            raise NoChannel("upload has no file (already delivered and pruned)")
        previous = dict(d.result or {})
        d.result = {**previous, "channel": channel}
        delivery_id, known_file = d.id, previous.get("file_id") if previous.get("unknown") else None
        t = self.target

        def remember(file_id: str) -> None:
            with self.store.session() as s2:
                row = s2.get_one(Delivery, delivery_id)
                row.result = {**(row.result or {}), "file_id": file_id}

        def upload() -> str:
            if known_file and t.find_upload(channel, known_file):
                log.info("delivery %s was already uploaded (file %s): not uploading again", delivery_id, known_file)
                return known_file
            return t.upload(channel, data, action.filename, action.title, thread, remember)

        return upload

    def _open_channel(self, s, action: OpenChannel):
        event = s.get(Event, action.event_id)
        existing, invite, t = event.channel_id, list(action.invite), self.target

        def make_channel() -> tuple[str, str]:
            channel = (existing, event.channel_name) if existing else t.create_channel(action.name)
            t.invite(channel[0], invite)
            return channel

        def save_channel(s2, d2, channel) -> None:
            row = s2.get(Event, d2.event_id)
            row.channel_id, row.channel_name = channel
            log.info("channel #%s is %s", channel[1], channel[0], extra={"event_id": d2.event_id})
            if channel[1] != action.name and self.ops_channel:
                enqueue(s2, Alarm(Channel(name=self.ops_channel), f"#{action.name} was taken",
                                  f"#{action.name} is held by an archived channel or one the bot cannot use, so "
                                  f"{d2.event_id}'s channel is #{channel[1]}."))

        return make_channel, save_channel

    def _show_plan(self, s, d: Delivery, action: ShowPlan):
        """The plan's message as the plan is now: posted the first time, edited after."""
        plan = s.get_one(PlanRecord, action.plan_id)
        text, blocks = bk.plan_message(plan.view())
        channel = self._channel(s, action.channel)
        if plan.message_ts:
            ts = plan.message_ts
            return (lambda: self.target.update(channel, ts, text, blocks)), lambda _s, _d, _r: None
        if action.edit:  # its own lane: the post that makes the message is still on its way
            raise RetryLater(f"plan {action.plan_id}'s message is not posted yet", after=5.0)

        def record(s2, d2, ts) -> None:
            row = s2.get_one(PlanRecord, action.plan_id)
            row.channel_id, row.message_ts = channel, ts
            d2.result = {"channel": channel, "ts": ts}

        return self._posting(d, channel, text, blocks, None, False), record

    def _show_verdicts(self, s, action: ShowVerdicts):
        """The event's latest summary in the channel, with its follow-up verdicts in it (replacing older ones)."""
        channel = self._channel(s, action.channel)
        event = s.get_one(Event, action.event_id)
        post = s.scalars(select(SummaryPost).where(SummaryPost.event_id == action.event_id,
                                                   SummaryPost.channel_id == channel)
                         .order_by(SummaryPost.id.desc()).limit(1)).first()
        if post is None or not event.verdicts:
            return (lambda: None), lambda *_: None
        blocks = bk.with_verdicts(post.blocks, [verdict_from_json(v) for v in event.verdicts])
        post_id, ts, text = post.id, post.ts, post.text

        def record(s2, _d, _r) -> None:
            s2.get_one(SummaryPost, post_id).blocks = blocks

        return (lambda: self.target.update(channel, ts, text, blocks)), record

    @staticmethod
    def _blocks(s, blocks: list, event_id: str | None) -> list:
        """The post's blocks with the event channel's link filled in."""
        if bk.EVENT_LINK in json.dumps(blocks):
            event = s.get(Event, event_id)
            blocks = bk.fill_event_link(blocks, event.channel_id, event.channel_name)
        return blocks

    def _finish_post(self, s, d: Delivery, action: Post, channel: str, ts: str, blocks: list, root: bool) -> None:
        d.result = {"channel": channel, "ts": ts}
        if d.event_id and action.starts_thread and root:
            event = s.get(Event, d.event_id)
            if event is not None and not event.thread_ts:
                event.thread_ts = ts
        if d.event_id and action.record:
            s.add(SummaryPost(event_id=d.event_id, channel_id=channel, ts=ts, blocks=blocks, text=action.text))


def slack_outbox(store: Store, target: SlackTarget, ops_channel: str | None = None,
                 services: dict[str, Sender] | None = None, **kwargs: Any) -> Outbox:
    """An outbox whose Slack kinds go through ``target``, beside other services' senders (Treasure Map, HERMES)."""
    slack = SlackSender(store, target, ops_channel)
    senders: dict[str, Sender] = dict.fromkeys(SLACK_KINDS, slack)
    senders.update(services or {})
    return Outbox(store, senders, ops_channel=ops_channel, say_now=slack.say_now, **kwargs)
