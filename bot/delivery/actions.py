"""What the bot asks of Slack, Treasure Map and HERMES, as typed records. Every post, edit, upload,
topic, channel, invite and report goes through the outbox as one of these (stored as JSON by :func:`to_json`,
read back by :func:`from_json`), so retries, per-lane order and no-doubles-after-a-crash hold for all of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Action", "Alarm", "Assess", "CancelPlan", "Channel", "Edit", "MarkRetracted", "OpenChannel", "Post",
           "PublishHermes", "SLACK_KINDS", "SendCircular", "ShareWithTreasureMap", "ShowEvidence", "ShowPlan",
           "ShowVerdicts", "SubmitPlan", "Thread", "Topic", "Upload", "from_json", "lane", "supersede_key",
           "to_json"]


@dataclass(frozen=True)
class Channel:
    """Where a message goes: a configured channel (name or ID) or an event's own channel."""

    name: str | None = None
    event: str | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (self.event is None):
            raise ValueError("a Channel is either a name or an event")

    @property
    def lane(self) -> str:
        """Deliveries to one channel go out in order, one lane per channel."""
        return f"event:{self.event}" if self.event is not None else f"channel:{self.name}"


@dataclass(frozen=True)
class Thread:
    """Which thread: a message's ``ts``, the event's thread in this channel, a plan's message, or the message
    another delivery posted (in the same lane, so it is out before this one is tried)."""

    ts: str | None = None
    event: bool = False
    plan: int | None = None
    delivery: int | None = None


@dataclass(frozen=True)
class Post:
    channel: Channel
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread: Thread | None = None
    broadcast: bool = False
    starts_thread: bool = False  # the first summary becomes the event's thread in this channel
    record: bool = False  # kept, so a retraction can edit it


@dataclass(frozen=True)
class Upload:
    channel: Channel
    filename: str
    title: str
    thread: Thread | None = None


@dataclass(frozen=True)
class Edit:
    channel: Channel
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def supersede_key(self) -> str:
        return f"edit:{self.channel.lane}:{self.ts}"


@dataclass(frozen=True)
class Topic:
    event_id: str
    topic: str

    @property
    def channel(self) -> Channel:
        return Channel(event=self.event_id)


@dataclass(frozen=True)
class OpenChannel:
    """Create (or reuse) the event's channel and invite people into it."""

    event_id: str
    name: str
    invite: tuple[str, ...] = ()

    @property
    def channel(self) -> Channel:
        return Channel(event=self.event_id)


@dataclass(frozen=True)
class Alarm:
    """Something the people running the bot must know, for the ops channel (worded when it is sent)."""

    channel: Channel
    what: str
    detail: str


@dataclass(frozen=True)
class MarkRetracted:
    """Edit every recorded summary of the event to say RETRACTED."""

    event_id: str
    channel: Channel


@dataclass(frozen=True)
class ShowPlan:
    """Post the plan's message (the first time) or edit it to its state when the delivery is made: one path
    for every change of a plan's message, so edits can never overtake each other with stale content.

    An ``edit`` (the message is posted already) has a lane of its own, so a paced edit never holds the channel's
    lane, and a newer edit of the same plan replaces one still queued (:attr:`supersede_key`)."""

    plan_id: int
    channel: Channel
    edit: bool = False

    @property
    def lane(self) -> str:
        return f"plan:{self.plan_id}" if self.edit else self.channel.lane

    @property
    def supersede_key(self) -> str | None:
        return f"plan:{self.plan_id}" if self.edit else None


@dataclass(frozen=True)
class ShareWithTreasureMap:
    """Bring Treasure Map up to date with the event's shared pointings (whatever is outstanding then)."""

    event_id: str

    @property
    def lane(self) -> str:
        return "treasuremap"


@dataclass(frozen=True)
class ShowVerdicts:
    """Put the event's follow-up verdicts (as stored then) into its latest summary in this channel: queued in the
    channel's lane, so after the summary it edits."""

    event_id: str
    channel: Channel

    @property
    def supersede_key(self) -> str:
        return f"verdicts:{self.event_id}:{self.channel.lane}"


@dataclass(frozen=True)
class SubmitPlan:
    """Submit a plan a rule approved by itself (``auto_submit``), then say so in its thread."""

    plan_id: int

    @property
    def lane(self) -> str:
        return "facility"


@dataclass(frozen=True)
class Assess:
    """Judge an event's new map against the follow-up rules: what each facility can observe, the verdicts, and
    the plans proposed for GO. ``checks``: each rule's criteria as the alert's transaction found them (rule name ->
    [criterion, passed, words] rows); ``version``: the map judged."""

    event_id: str
    version: int
    checks: dict[str, list[list[Any]]]
    facts: dict[str, Any]

    @property
    def lane(self) -> str:
        return "followup"


@dataclass(frozen=True)
class CancelPlan:
    """Cancel a submitted plan at its facility (a person's Cancel, or the event's retraction), then say so."""

    plan_id: int

    @property
    def lane(self) -> str:
        return "facility"


@dataclass(frozen=True)
class PublishHermes:
    """Publish a prepared HERMES report, once."""

    report_id: int

    @property
    def lane(self) -> str:
        return "hermes"


@dataclass(frozen=True)
class ShowEvidence:
    """Draw a candidate's evidence picture (light curve and cutouts, as stored then) and upload it into its
    thread: drawing takes a fraction of a second, so it has a lane of its own beside the channels."""

    candidate_id: int
    channel: Channel
    thread: Thread | None = None

    @property
    def lane(self) -> str:
        return "evidence"


@dataclass(frozen=True)
class SendCircular:
    """Send a circular draft through HERMES on to GCN, once."""

    circular_id: int

    @property
    def lane(self) -> str:
        return "hermes"


Action = (Post | Upload | Edit | Topic | OpenChannel | MarkRetracted | ShowPlan | Alarm | ShareWithTreasureMap
          | PublishHermes | CancelPlan | Assess | ShowVerdicts | SubmitPlan | ShowEvidence | SendCircular)
_KINDS: dict[str, type] = {cls.__name__: cls for cls in (Post, Upload, Edit, Topic, OpenChannel, MarkRetracted,
                                                          ShowPlan, Alarm, ShareWithTreasureMap, PublishHermes,
                                                          CancelPlan, Assess, ShowVerdicts, SubmitPlan, ShowEvidence,
                                                          SendCircular)}
#: the kinds Slack's sender makes
SLACK_KINDS = ("Post", "Upload", "Edit", "Topic", "OpenChannel", "MarkRetracted", "ShowPlan", "Alarm", "ShowVerdicts")
_NESTED = {"channel": Channel, "thread": Thread}


def lane(action: Action) -> str:
    if isinstance(action, (ShareWithTreasureMap, PublishHermes, ShowPlan, CancelPlan, Assess, SubmitPlan,
                           ShowEvidence, SendCircular)):
        return action.lane  # another service (one lane each, beside the channels), or a plan's paced edits
    return action.channel.lane


def supersede_key(action: Action) -> str | None:
    """Edits of one message share a key: only the newest still queued is worth sending."""
    return action.supersede_key if isinstance(action, (Edit, ShowPlan, ShowVerdicts)) else None


def to_json(action: Action) -> tuple[str, dict[str, Any]]:
    """(kind, payload) as stored in the outbox."""
    return type(action).__name__, asdict(action)


def from_json(kind: str, payload: dict[str, Any]) -> Action:
    cls = _KINDS[kind]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in payload:
            continue
        value = payload[f.name]
        nested = _NESTED.get(f.name)
        if nested is not None and value is not None:
            value = nested(**value)
        elif f.name == "invite":
            value = tuple(value)
        values[f.name] = value
    return cls(**values)
