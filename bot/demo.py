"""``gwbot demo``: the whole pipeline on a local broker with the bundled sample alerts.

Starts tansu on a free loopback port, publishes the samples in the order a
real night would bring them (a real event's preliminary and update alerts and
a circular; a mock event's preliminary, update with a GRB coincidence,
circular and retraction), runs the bot against it and says where the output is. Then three real ZTF alerts
as Fink streams them (writer schema in the key, schemaless Avro), two moved into S241102br's 50% and 90% regions
and re-timed after its merger, one left where it was: the output shows their candidate digest.
"""

from __future__ import annotations

import io
import json
import logging
import time
from importlib import resources
from pathlib import Path

import fastavro
import numpy as np
from sqlalchemy import select

from bot.app import Bot
from bot.brokers.record import Format
from bot.config import BrokerConfig, Settings
from bot.ingest.files import topic_for
from bot.ingest.gwalert import epoch, parse_bytes
from bot.ingest.local_broker import LocalBroker, publish
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare
from bot.store.candidates import CandidateRecord

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


BROKER_TOPIC = "fink_demo_ztf"


def broker_messages() -> list[tuple[bytes, bytes]]:
    """(key, value) of the Fink sample alerts: two moved inside S241102br's 50% and 90% regions, 2 and 5 hours
    after the merger; the third left where it was observed (outside the region)."""
    folder = resources.files("bot") / "samples"
    alert = parse_bytes((folder / "S241102br-initial.json").read_bytes())
    assert alert.skymap is not None  # the bundled sample has its map
    prepared = prepare(read_skymap(alert.skymap))
    merger_jd = (epoch(alert.event.time if alert.event else None) or 0.0) / 86400.0 + 2440587.5
    with (folder / "fink-ztf-3.avro").open("rb") as fo:
        reader = fastavro.reader(fo)
        schema, alerts = reader.writer_schema, [dict(a) for a in reader if isinstance(a, dict)]
    parsed = fastavro.parse_schema(schema)
    out = []
    for alert_record, level, hours in zip(alerts, (0.3, 0.8, None), (2.0, 5.0, 3.0), strict=True):
        c = alert_record["candidate"]
        if level is not None:
            ra, dec = _position_at(prepared, level)
            c.update(ra=ra, dec=dec, distpsnr1=15.0, sgscore1=0.05, drb=max(c.get("drb") or 0.0, 0.9))
        c.update(jd=merger_jd + hours / 24, jdstarthist=merger_jd + hours / 24)
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, alert_record)
        out.append((json.dumps(schema).encode(), buf.getvalue()))
    return out


def _position_at(prepared, level: float) -> tuple[float, float]:
    """The centre of the pixel at this cumulative probability (a point inside that credible region)."""
    from bot.skymap import moc

    i = int(np.searchsorted(prepared.cum_prob, level))
    order, ipix = moc.uniq_to_order_ipix(prepared.uniq[i:i + 1])
    ra, dec = moc.nested_to_lonlat(order, ipix)
    return float(np.rad2deg(ra[0])), float(np.rad2deg(dec[0]))


def _produce(address: str, messages: list[tuple[bytes, bytes]]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": address})
    for key, value in messages:
        producer.produce(BROKER_TOPIC, value=value, key=key)
    producer.flush(30)


def run_demo(settings: Settings, timeout: float = 120.0) -> Path:
    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    messages = sample_messages()
    topics = sorted({topic for topic, _, _ in messages})
    with LocalBroker(log_file=out / "tansu.log") as broker:
        broker.create_topics(topics)
        broker.create_topics([BROKER_TOPIC], partitions=2)
        db = out / "demo.sqlite"
        db.unlink(missing_ok=True)
        # the samples are real alerts from years ago: post them anyway, as a fresh night would
        settings = settings.replace(hop_url=f"kafka://{broker.address}/{','.join(topics)}", hop_auth=False,
                           group_id="gwbot-demo", database_url=f"sqlite:///{db}", post_max_age_s=float("inf"),
                           mock_channel=settings.channels.mock or "gw-mock", candidate_window_days=float("inf"),
                           candidate_digest_s=1.0,
                           brokers=(BrokerConfig("fink", Format.FINK, f"kafka://{broker.address}/{BROKER_TOPIC}"),))
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
            _produce(broker.address, broker_messages())
            deadline = time.monotonic() + timeout
            while not _digested(bot) and time.monotonic() < deadline:
                time.sleep(0.2)
            log.info("demo candidates digested" if _digested(bot) else "demo candidates not digested in time")
            bot.outbox.drain(timeout)
        finally:
            bot.shutdown()
    return out


def _digested(bot: Bot, expected: int = 2) -> bool:
    with bot.store.session() as s:
        rows = list(s.scalars(select(CandidateRecord)))
    return len(rows) >= expected and all(r.digest is not None for r in rows)
