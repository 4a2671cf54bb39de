"""Everything `gwbot run` does, as two replicas on one PostgreSQL and one Kafka cluster: the LVK stream (two
partitions, one consumer group), the outbox, the plan follower and a candidate worker in each. Both start at the
same instant on an empty database (the schema and apscheduler's table are made once, under the migration lock)
and both come up; then one is killed (SIGKILL) while alerts and candidates flow, and every event is still
summarised exactly once, and every candidate stored once, at the Slack stand-in. A replica that dies when it
should not fails the test at once, with its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from fakes import broker_messages as bm
from helpers import json_bytes, variant, wait_for
from pg import fresh_database
from sqlalchemy import func, select
from test_candidates import MERGER_MJD, positions
from test_candidates_stream import broker, env_for, produce, slack  # noqa: F401 (fixtures)

from bot.ingest.local_broker import publish
from bot.store import Store
from bot.store.candidates import CandidateRecord
from bot.store.delivery import Delivery, OutboxSender
from bot.store.events import Event

pytestmark = pytest.mark.slow


def summaries(slack) -> Counter:  # noqa: F811
    """Top-level summaries in the alerts channel, by superevent."""
    return Counter(m["text"].split()[0] for m in slack.messages("gw-alerts")
                   if not m.get("thread_ts") and m.get("text", "").startswith(("S", "MS")))


def test_two_gwbot_run_replicas_one_killed_lose_and_double_nothing(broker, slack, tmp_path,  # noqa: F811
                                                                    postgres_url):
    suffix = "tworuns"
    broker.create_topics([f"igwn.gwalert.{suffix}"], partitions=2)
    broker.create_topics([f"rubin.{suffix}"], partitions=4)
    database = fresh_database(postgres_url, "replicas")  # empty: the replicas make the schema themselves
    env = {**os.environ, **env_for(broker, slack, tmp_path, suffix, database, formats=("rubin",))}
    logs = [open(tmp_path / f"replica{i}.log", "w") for i in range(2)]  # noqa: SIM115 (closed below)
    replicas = [subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, start_new_session=True,
                                 stdout=log, stderr=subprocess.STDOUT) for log in logs]
    store = None
    try:
        def log_tail(i: int) -> str:
            return (tmp_path / f"replica{i}.log").read_text()[-3000:]

        store = Store(database, upgrade=False)  # only looks: the replicas make the schema

        def both_up() -> bool:  # each replica's outbox heartbeats in the database once it runs
            try:
                with store.session() as s:
                    return (s.scalar(select(func.count()).select_from(OutboxSender)) or 0) >= 2
            except Exception:  # no schema yet
                return False

        try:
            wait_for(both_up, 120, "both replicas to come up", alive=replicas)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nreplica 0:\n{log_tail(0)}\nreplica 1:\n{log_tail(1)}") from None
        events = [f"S2411{i:02d}ab" for i in range(1, 7)]
        alerts = [(f"igwn.gwalert.{suffix}", json_bytes(variant("S241102br-preliminary.json", sid)),
                   [("_format", b"json")]) for sid in ["S241102br", *events]]
        publish(broker.address, alerts[:4])
        wait_for(lambda: len(summaries(slack)) >= 3, 120, "the first summaries", alive=replicas)
        (ra, dec), = positions([0.3])
        n = 200
        rubin = [(None, bm.rubin_value(bm.rubin_alert(5000 + i, ra + (i % 20) * 0.001, dec + (i // 20) * 0.001,
                                                      MERGER_MJD + 0.5 + i * 1e-4))) for i in range(n)]
        produce(broker.address, f"rubin.{suffix}", rubin[: n // 2])
        os.killpg(replicas[0].pid, signal.SIGKILL)  # mid-stream, no goodbye
        publish(broker.address, alerts[4:])
        produce(broker.address, f"rubin.{suffix}", rubin[n // 2:])
        wanted = {"S241102br", *events}
        wait_for(lambda: set(summaries(slack)) >= wanted, 240, "every event's summary", alive=replicas[1:])

        def stored() -> int:
            with store.session() as s:
                return s.scalar(select(func.count()).select_from(CandidateRecord)) or 0

        # the events are copies of one real alert: one map, one merger time, so each alert is a candidate of each
        try:
            wait_for(lambda: stored() == n * len(wanted), 300, f"all {n} candidates of each event",
                     alive=replicas[1:])
        except AssertionError:
            with store.session() as s:
                per_event = dict(s.execute(select(CandidateRecord.event_id, func.count())
                                           .group_by(CandidateRecord.event_id)).all())
            raise AssertionError(f"candidates per event: {per_event}; the surviving replica's log ends:\n"
                                 f"{log_tail(1)}") from None

        def settled() -> bool:
            with store.session() as s:
                return not s.scalar(select(func.count()).select_from(Delivery)
                                    .where(Delivery.status.in_(("pending", "in_flight"))))

        wait_for(settled, 240, "the outbox to empty", alive=replicas[1:])
        time.sleep(5)  # anything doubled would show up now
        counts = summaries(slack)
        assert {sid: c for sid, c in counts.items() if c != 1} == {}, counts
        with store.session() as s:
            per_event = dict(s.execute(select(CandidateRecord.event_id, func.count(func.distinct(
                CandidateRecord.object_id))).group_by(CandidateRecord.event_id)).all())
            assert per_event == dict.fromkeys(wanted, n)
            assert s.scalar(select(func.count()).select_from(CandidateRecord)) == n * len(wanted)
            assert s.scalar(select(func.count()).select_from(Event)) == len(wanted)
            failed = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "failed"))
            assert failed == 0
        digests = [m for m in slack.messages("s241102br") if "counterpart candidate" in m.get("text", "")
                   and not m.get("thread_ts")]
        assert digests
    finally:
        for proc in replicas:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
        for log in logs:
            log.close()
        if store is not None:
            store.close()
