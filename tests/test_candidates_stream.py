"""Broker candidates end to end: real tansu topics with four partitions, each broker's wire format, the bot's own
stream of a real GW alert, the local Slack server; then two worker processes in one consumer group, one of them
killed mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import OLD_ALERTS_TOO, data_file
from fakes import broker_messages as bm
from fakes.slack_server import FakeSlack
from helpers import wait_for
from sqlalchemy import func, select
from test_candidates import MERGER_MJD, positions

from bot import config
from bot.app import Bot
from bot.ingest.local_broker import LocalBroker, publish
from bot.store.candidates import CandidateDetection, CandidateRecord
from bot.store.events import Event, TopicProgress

pytestmark = pytest.mark.slow

FORMATS = ("fink", "rubin", "antares", "lasair")


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with LocalBroker(log_file=tmp_path_factory.mktemp("tansu") / "tansu.log") as b:
        yield b


def produce(address: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Keyed messages spread over the topic's partitions (confluent-kafka's producer, as the brokers use)."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": address, "linger.ms": 5})
    for i, (key, value) in enumerate(messages):
        producer.produce(topic, value=value, key=key if key is not None else str(i).encode())
        producer.poll(0)
    assert producer.flush(30) == 0


def write_config(path: Path, address: str, suffix: str, formats=FORMATS) -> Path:
    tables = "\n".join(f'[[brokers]]\nname = "{f}"\nformat = "{f}"\nurl = "kafka://{address}/{f}.{suffix}"\n'
                       for f in formats)
    path.write_text(tables)
    return path


def env_for(broker, slack, tmp_path, suffix: str, database: str, formats=FORMATS) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
            "HOP_URL": f"kafka://{broker.address}/igwn.gwalert.{suffix}", "GWBOT_GROUP_ID": f"gw-{suffix}",
            "GWBOT_DATABASE_URL": database, "GWBOT_ALERTS_CHANNEL": "gw-alerts", "GWBOT_OPS_CHANNEL": "gw-ops",
            "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO, "GWBOT_CANDIDATE_WINDOW_DAYS": "36500",
            "GWBOT_CANDIDATE_DIGEST_SECONDS": "1", "GWBOT_OUTPUT_DIR": str(tmp_path / "out"),
            "GWBOT_CONFIG": str(write_config(tmp_path / "gwbot.toml", broker.address, suffix, formats))}


@pytest.fixture
def slack():
    with FakeSlack() as s:
        for name in ("gw-alerts", "gw-ops"):
            s.add_channel(name)
        yield s


def start_bot(broker, slack, tmp_path, suffix: str) -> Bot:
    broker.create_topics([f"igwn.gwalert.{suffix}"])
    broker.create_topics([f"{f}.{suffix}" for f in FORMATS], partitions=4)
    settings = config.load(env_for(broker, slack, tmp_path, suffix, f"sqlite:///{tmp_path / 'bot.sqlite'}"))
    bot = Bot(settings)
    bot.start_background()
    bot.start_reader_thread()
    publish(broker.address, [(f"igwn.gwalert.{suffix}", data_file("S241102br-initial.json").read_bytes(),
                              [("_format", b"json")])])
    wait_for(lambda: _channel(bot), 60, "the event channel")
    return bot


def _channel(bot) -> str | None:
    with bot.store.session() as s:
        event = s.get(Event, "S241102br")
        return event.channel_name if event is not None else None


def test_every_format_through_kafka_to_one_digest(broker, slack, tmp_path):
    bot = start_bot(broker, slack, tmp_path, "e2e")
    try:
        (ra50, dec50), (ra90, dec90), (ra_out, dec_out) = positions([0.25, 0.85, 0.999])
        t = MERGER_MJD + 0.4
        fink_key, fink_in = bm.fink_lsst_message(bm.fink_lsst_alert(101, ra50, dec50, t, host_distance_mpc=200.0))
        fink_decoys = [bm.fink_lsst_message(a) for a in (
            bm.fink_lsst_alert(102, ra_out, dec_out, t),  # outside the region
            bm.fink_lsst_alert(103, ra50 + 0.02, dec50, t, ss_object_id=5),  # an asteroid
            bm.fink_lsst_alert(104, ra50 - 0.02, dec50, t, reliability=0.1))]  # bogus
        produce(broker.address, "fink.e2e", [(fink_key, fink_in), *fink_decoys])
        produce(broker.address, "rubin.e2e", [
            (None, bm.rubin_value(bm.rubin_alert(201, ra90, dec90, t + 1.2, cutout_bytes=30000, history=2))),
            (None, bm.rubin_value(bm.rubin_alert(202, ra90 + 0.02, dec90, t, first_mjd=MERGER_MJD - 2))),
            (None, bm.rubin_value(bm.rubin_alert(203, ra90, dec90 + 0.02, MERGER_MJD - 0.1))),
            (None, b"\x00\x00\x00\x04\x4d this is not Avro")])  # poison
        produce(broker.address, "antares.e2e", [
            (None, bm.antares_value(bm.antares_locus("ANT2024aaaaaaa", ra90 - 0.03, dec90, t + 0.2, t))),
            (None, bm.antares_value(bm.antares_locus("ANT2024bbbbbbb", ra90, dec90 - 0.03, t, t,
                                                     catalogs=("veron_agn_qso",))))])
        produce(broker.address, "lasair.e2e", [(None, bm.lasair_value(401, ra50, dec50 + 0.3 / 3600, t + 0.3, t))])

        def digest():
            return [m for m in slack.messages("s241102br") if "counterpart candidate" in m.get("text", "")
                    and not m.get("thread_ts")]

        try:
            wait_for(lambda: digest() and _stored(bot) == 3, 90, "the candidates")
        except AssertionError:
            with bot.store.session() as s:
                print([(r.broker, r.object_id, r.digest) for r in s.scalars(select(CandidateRecord))])
            print(slack.messages("s241102br"))
            raise
        wait_for(lambda: _undigested(bot) == 0 and bot.outbox.pending() == 0, 30, "the digests")
        posted = " ".join(str(m["blocks"]) for m in digest())
        for shown in ("101", "201", "ANT2024aaaaaaa"):
            assert shown in posted
        for hidden in ("102", "103", "104", "202", "203", "ANT2024bbbbbbb"):
            assert f"*{hidden}" not in posted and f"|{hidden}>" not in posted
        # the best candidates' evidence pictures, drawn from the alerts' light curves and cutouts, in the thread
        pictures = [f for f in slack.files.values() if f["filename"].endswith("-evidence.png") and f["shared"]]
        assert {f["filename"] for f in pictures} == {"101-evidence.png", "201-evidence.png",
                                                     "ANT2024aaaaaaa-evidence.png"}
        assert all(f["data"][:8] == b"\x89PNG\r\n\x1a\n" and f["shared"][0][1] for f in pictures)  # in a thread
        with bot.store.session() as s:
            fink_row = s.scalar(select(CandidateRecord).where(CandidateRecord.object_id == "101"))
            assert fink_row.aliases == ["lasair:401"]  # the same source from Lasair, 0.3" away
            assert fink_row.host_distance_mpc == 200.0 and fink_row.distance_cl is not None
        ops = [m for m in slack.messages("gw-ops") if "Undecodable" in m.get("text", "")]
        assert len(ops) == 1 and "rubin" in ops[0]["text"]
        threads = [m for m in slack.messages("s241102br") if m.get("thread_ts")]
        assert len(threads) >= 3  # one detail per candidate, under the digest
    finally:
        bot.shutdown()


def _undigested(bot) -> int:
    with bot.store.session() as s:
        return s.scalar(select(func.count()).select_from(CandidateRecord).where(CandidateRecord.digest.is_(None)))


def _stored(bot_or_store) -> int:
    store = getattr(bot_or_store, "store", bot_or_store)
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(CandidateRecord)) or 0


def test_two_worker_replicas_one_killed_mid_stream(broker, slack, tmp_path, postgres_url):
    """Two `gwbot candidates` replicas in one consumer group on four partitions, sharing one PostgreSQL store
    with `gwbot run`'s pipeline and outbox; one replica is killed (SIGKILL) while the stream flows. Every alert
    ends up stored exactly once; no candidate is lost or doubled."""
    suffix = "replicas"
    broker.create_topics([f"igwn.gwalert.{suffix}"])
    broker.create_topics([f"rubin.{suffix}"], partitions=4)
    database = postgres_url
    env = {**os.environ, **env_for(broker, slack, tmp_path, suffix, database, formats=("rubin",)),
           "GWBOT_CANDIDATE_EVIDENCE": "0"}  # the workers are the subject here, not the pictures
    bot = Bot(config.load(env))  # records the event (and owns the outbox), as `gwbot run` would
    bot.start_background()
    bot.start_reader_thread()
    try:
        publish(broker.address, [(f"igwn.gwalert.{suffix}", data_file("S241102br-initial.json").read_bytes(),
                                  [("_format", b"json")])])
        wait_for(lambda: _channel(bot), 60, "the event channel")
        (ra, dec), = positions([0.3])
        n = 600
        alerts = [(None, bm.rubin_value(bm.rubin_alert(1000 + i, ra + (i % 30) * 0.001, dec + (i // 30) * 0.001,
                                                       MERGER_MJD + 0.5 + i * 1e-4))) for i in range(n)]
        replicas = [subprocess.Popen([sys.executable, "-m", "bot.cli", "candidates", "--workers", "1"], env=env,
                                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    for _ in range(2)]
        try:
            produce(broker.address, f"rubin.{suffix}", alerts[: n // 2])
            wait_for(lambda: _stored(bot) > 0, 90, "the first candidates")
            os.killpg(replicas[0].pid, signal.SIGKILL)  # mid-stream, no goodbye
            produce(broker.address, f"rubin.{suffix}", alerts[n // 2:])
            wait_for(lambda: _stored(bot) == n, 120, f"all {n} candidates")
            time.sleep(3)  # anything doubled would show up now
            with bot.store.session() as s:
                assert s.scalar(select(func.count()).select_from(CandidateRecord)) == n
                assert s.scalar(select(func.count()).select_from(CandidateDetection)) == n
                assert s.scalar(select(func.count(func.distinct(CandidateRecord.object_id)))) == n
        finally:
            for proc in replicas:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(30)
        wait_for(lambda: _undigested(bot) == 0 and bot.outbox.pending() == 0, 60, "the digests")
        digests = [m for m in slack.messages("s241102br") if "counterpart candidate" in m.get("text", "")
                   and not m.get("thread_ts")]
        listed = sum(len([b for b in m["blocks"] if b.get("accessory")]) for m in digests)
        more = [m for m in digests if "more: `/gw candidates" in str(m["blocks"])]
        assert listed >= 1 and (listed == n or more)
        with bot.store.session() as s:
            assert s.scalar(select(func.count()).select_from(TopicProgress)
                            .where(TopicProgress.topic.like("rubin:%"))) >= 1
    finally:
        bot.shutdown()
