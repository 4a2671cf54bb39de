"""``gwbot demo``: the whole pipeline on a local broker with the bundled sample alerts.

Starts tansu on a free loopback port, publishes the samples in the order a
real night would bring them (a real event's preliminary and update alerts and
a circular; a mock event's preliminary, update with a GRB coincidence,
circular and retraction), runs the bot against it and says where the output is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

from bot.app import Bot
from bot.config import Settings
from bot.ingest.files import topic_for
from bot.ingest.local_broker import LocalBroker, publish

log = logging.getLogger(__name__)

SEQUENCE = [
    "S241102br-preliminary.json",
    "S241102br-initial.json",
    "demo-circular-S241102br.json",
    "MS181101ab-preliminary.avro",
    "MS181101ab-ext-update.avro",
    "demo-circular-MS181101ab.json",
    "MS181101ab-retraction.avro",
    "gcn-circular-33603.json",
]


def sample_messages() -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    """(topic, bytes, hop headers) for each bundled sample, in demo order."""
    folder = resources.files("bot") / "samples"
    out = []
    for name in SEQUENCE:
        data = (folder / name).read_bytes()
        topic = topic_for(data)
        out.append((topic, data, [("_format", _hop_format(name, data))]))
    return out


def _hop_format(name: str, data: bytes) -> bytes:
    """The ``_format`` header hop would put on this message."""
    if name.endswith(".avro"):
        return b"avro"
    return b"circular" if b'"header"' in data[:200] else b"json"


def run_demo(settings: Settings, timeout: float = 120.0) -> Path:
    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    messages = sample_messages()
    topics = sorted({topic for topic, _, _ in messages})
    with LocalBroker(log_file=out / "tansu.log") as broker:
        broker.create_topics(topics)
        db = out / "demo.sqlite"
        db.unlink(missing_ok=True)
        # the samples are real alerts from years ago: post them anyway, as a fresh night would
        settings = replace(settings, hop_url=f"kafka://{broker.address}/{','.join(topics)}", hop_auth=False,
                           group_id="gwbot-demo", database_url=f"sqlite:///{db}", post_max_age_s=float("inf"),
                           mock_channel=settings.mock_channel or "gw-mock")
        bot = Bot(settings)
        bot.start_background()
        bot.start_reader_thread()
        try:
            for i, message in enumerate(messages, 1):
                before = bot.reader.handled
                publish(broker.address, [message])
                deadline = time.monotonic() + timeout
                while bot.reader.handled == before and time.monotonic() < deadline:
                    time.sleep(0.05)
                log.info("demo message %d/%d handled", i, len(messages), extra={"sample": SEQUENCE[i - 1]})
            bot.outbox.drain(timeout)
        finally:
            bot.shutdown()
    return out
