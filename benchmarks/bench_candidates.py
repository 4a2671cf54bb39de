"""Candidate worker speed and memory: Rubin-format alerts of real size from a local tansu topic with four
partitions, cross-matched against 10 active events' maps.

    python benchmarks/bench_candidates.py [--alerts 20000] [--burst 10000] [--memory 100000]

Alerts: lsst-alert-packet's schema-exact sample (schema 11.1), moved over the whole sky (1% of them into an
event's 90% region), with 20 previous sources and three 20 kB cutouts: about 80 kB each, in the Confluent wire
format. The 10 events carry four real O4/MDC maps (S241102br, S230518h, S250910b, MS181101ab), merger 1 day ago.

Reported, all in this run:
1. decode per alert: the worker's peek (stops after diaSource) vs reading the whole alert (the reference);
2. one worker from Kafka: alerts/s and MB/s, and the same with whole-alert decoding;
3. a 10,000-alert visit: seconds from the last alert written to its digest queued, one worker;
4. one vs two worker processes in one consumer group (the broker shares the same two cores);
5. resident memory after 10,000 and after --memory alerts through the worker (no Kafka).
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import random
import struct
import sys
import tempfile
import time
from pathlib import Path

import fastavro
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import data_file  # noqa: E402
from fakes import broker_messages as bm  # noqa: E402

from bot import config  # noqa: E402
from bot.brokers import decoders, rubin  # noqa: E402
from bot.brokers.avro import read  # noqa: E402
from bot.brokers.decoders import Message  # noqa: E402
from bot.brokers.record import Format, unix_to_mjd  # noqa: E402
from bot.candidates.worker import CandidateWorker  # noqa: E402
from bot.ingest.gwalert import parse_bytes  # noqa: E402
from bot.ingest.local_broker import LocalBroker  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.candidates import CandidateRecord  # noqa: E402
from bot.store.delivery import Delivery  # noqa: E402
from bot.store.events import Event, SkymapVersion  # noqa: E402

MAPS = ["S241102br-initial.json", "S230518h_initial.json", "S250910b-earlywarning.json",
        "MS181101ab-preliminary.avro"]
EVENTS = [f"S260101{c}" for c in "abcdefghij"]


def whole(value: bytes):
    """The reference: the whole alert read (every field, history, cutouts), then the same candidate record."""
    alert = read(rubin.schema_for(1101).full, value, rubin.HEADER.size)
    return rubin.with_history(rubin.from_dia_source(alert["diaSource"], "rubin"), alert)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_store(url: str, now: float) -> Store:
    store = Store(url)
    merger = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400))
    with store.session() as s:
        for i, event_id in enumerate(EVENTS):
            s.add(Event(event_id=event_id, facts={"event_time": merger}, summary_channel="gw-alerts"))
            fits = parse_bytes(data_file(MAPS[i % len(MAPS)]).read_bytes()).skymap
            s.add(SkymapVersion(event_id=event_id, alert_key=event_id, alert_type="INITIAL", fits=fits, kind="gw",
                                created=now - 86000))
    return store


def alerts(n: int, inside: tuple[float, float], now: float, seed: int = 1,
           stamps: tuple[bytes, bytes, bytes] | None = None) -> list[bytes]:
    """n alert values: 1% near the given position (inside a region), the rest anywhere; cutouts of 20 kB each, or
    the given ``stamps`` (science, template, difference)."""
    rng = random.Random(seed)
    template = bm.rubin_alert(1, 0.0, 0.0, unix_to_mjd(now) - 0.1, cutout_bytes=20000, history=20)
    if stamps is not None:
        template.update(cutoutScience=stamps[0], cutoutTemplate=stamps[1], cutoutDifference=stamps[2])
    schemas = rubin.schema_for(1101)
    out = []
    for i in range(n):
        if i % 100 == 0:
            ra, dec = inside[0] + rng.uniform(-0.05, 0.05), inside[1] + rng.uniform(-0.05, 0.05)
        else:
            ra, dec = rng.uniform(0, 360), math.degrees(math.asin(rng.uniform(-1, 1)))  # uniform on the sky
        src = dict(template["diaSource"], ra=ra, dec=dec, diaObjectId=10_000_000 + i, diaSourceId=20_000_000 + i,
                   reliability=0.9)
        alert = dict(template, diaSource=src, diaSourceId=src["diaSourceId"])
        if i % 100 == 0:  # a new transient: its earlier detections all after the merger (1 day ago)
            alert["prvDiaSources"] = [dict(p, midpointMjdTai=src["midpointMjdTai"] - 0.02 * (k + 1))
                                      for k, p in enumerate(template["prvDiaSources"])]
            alert["diaObject"] = dict(template["diaObject"], firstDiaSourceMjdTai=min(
                p["midpointMjdTai"] for p in alert["prvDiaSources"]))
        buf = io.BytesIO()
        buf.write(struct.pack(">bI", 0, 1101))
        fastavro.schemaless_writer(buf, schemas.full, alert)
        out.append(buf.getvalue())
    return out


def produce(address: str, topic: str, values: list[bytes]) -> float:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": address, "linger.ms": 20, "batch.size": 4 * 2**20,
                         "message.max.bytes": 8 * 2**20})
    for i, value in enumerate(values):
        while True:
            try:
                producer.produce(topic, value=value, key=str(i).encode())
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    producer.flush(120)
    return time.time()


def settings_for(address: str, topic: str, db: str, group: str) -> config.Settings:
    base = config.load({"GWBOT_DATABASE_URL": db, "HOP_AUTH": "false"})
    broker = config.BrokerConfig("rubin", Format.RUBIN, f"kafka://{address}/{topic}", group_id=group)
    return base.replace(brokers=(broker,), candidate_digest_s=1.0)


def consume_all(settings: config.Settings, total: int, counter=None, whole_alert: bool = False,
                timeout: float = 600, digested: bool = False) -> tuple[float, float, int, float]:
    """Run one worker until ``total`` messages were processed (by all workers sharing ``counter``) and, with
    ``digested``, every candidate stored is in a queued digest; returns (first message time, last batch time,
    messages done here, CPU seconds this process used from the first batch to the last)."""
    import threading

    store = Store(settings.store.database_url)
    worker = CandidateWorker(settings, settings.candidates.brokers[0], store, lambda *a: None)
    if whole_alert:  # the reference: read every alert in full
        decoders.peek = lambda fmt, broker, message: whole(message.value)  # type: ignore
    stop = threading.Event()
    seen = {"first": 0.0, "last": 0.0, "n": 0, "cpu_first": 0.0, "cpu_last": 0.0}

    def on_batch(batch) -> None:
        now, cpu = time.time(), time.process_time()
        seen["first"], seen["cpu_first"] = seen["first"] or now, seen["cpu_first"] or cpu
        seen["last"], seen["cpu_last"] = now, cpu
        seen["n"] += batch.messages
        if counter is not None:
            with counter.get_lock():
                counter.value += batch.messages

    def done() -> bool:
        if (counter.value if counter is not None else seen["n"]) < total:
            return False
        if not digested:
            return True
        with store.session() as s:
            return s.query(CandidateRecord).filter(CandidateRecord.digest.is_(None)).count() == 0

    thread = threading.Thread(target=worker.run, args=(stop, on_batch), daemon=True)
    thread.start()
    deadline = time.time() + timeout
    while thread.is_alive() and time.time() < deadline and not done():  # another worker may take the last ones
        thread.join(0.2)
    stop.set()
    thread.join(10)  # the batch in hand is finished before the store closes
    store.close()
    return seen["first"], seen["last"], seen["n"], seen["cpu_last"] - seen["cpu_first"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc(settings, total, counter, out, digested: bool = False) -> None:
    out.put(consume_all(settings, total, counter, digested=digested))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--alerts", type=int, default=20000)
    p.add_argument("--burst", type=int, default=10000)
    p.add_argument("--memory", type=int, default=100000)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    now = time.time()
    db = f"sqlite:///{tmp / 'bench.sqlite'}"
    store = make_store(db, now)
    from bot.events.maps import MapCache

    prepared = MapCache(store).latest(EVENTS[0])[1]  # type: ignore[index]
    inside = (float(np.rad2deg(prepared.mode_ra)), float(np.rad2deg(prepared.mode_dec)))
    values = alerts(max(args.alerts, args.burst), inside, now)
    size = sum(len(v) for v in values[:1000]) / 1000
    print(f"alerts: {len(values)} Rubin 11.1 alerts, {size / 1024:.0f} kB each; 10 active events")

    # 1. decode per alert
    sample = [Message("t", v) for v in values[:2000]]
    t0 = time.perf_counter()
    for m in sample:
        decoders.peek(Format.RUBIN, "rubin", m)
    peek_ms = (time.perf_counter() - t0) / len(sample) * 1e3
    t0 = time.perf_counter()
    for m in sample:
        whole(m.value)
    whole_ms = (time.perf_counter() - t0) / len(sample) * 1e3
    print(f"1. decode: peek {peek_ms:.3f} ms/alert, whole alert {whole_ms:.3f} ms/alert: "
          f"peek is {whole_ms / peek_ms:.0f}x faster")

    with LocalBroker(log_file=tmp / "tansu.log") as broker:
        # 2. one worker from Kafka, peek vs whole
        broker.create_topics(["bench.rate"], partitions=4)
        produce(broker.address, "bench.rate", values[:args.alerts])
        mb = sum(len(v) for v in values[:args.alerts]) / 2**20
        rates = {}
        for label, whole_alert in (("peek", False), ("whole", True)):
            ctx = multiprocessing.get_context("spawn")
            out = ctx.Queue()
            counter = ctx.Value("l", 0)  # kept referenced until the child has it
            proc = ctx.Process(target=_whole_proc if whole_alert else _proc,
                               args=(settings_for(broker.address, "bench.rate", db, f"rate-{label}"), args.alerts,
                                     counter, out))
            proc.start()
            first, last, n, _ = out.get(timeout=900)
            proc.join()
            rates[label] = n / max(last - first, 1e-9)
            print(f"2. one worker, {label}: {n} alerts in {last - first:.1f} s (after the first batch): "
                  f"{rates[label]:.0f} alerts/s, {rates[label] * mb / args.alerts:.0f} MB/s")
        print(f"   peek vs whole-alert decoding end to end: {rates['peek'] / rates['whole']:.1f}x")

        # 3. a visit's burst: time from the last alert written to its digest queued
        broker.create_topics(["bench.burst"], partitions=4)
        burst_db = f"sqlite:///{tmp / 'burst.sqlite'}"
        make_store(burst_db, now).close()
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        counter = ctx.Value("l", 0)
        proc = ctx.Process(target=_proc, args=(settings_for(broker.address, "bench.burst", burst_db, "burst"),
                                               args.burst, counter, out, True))
        proc.start()
        time.sleep(8)  # joined the group and idle, as a running worker would be
        written = produce(broker.address, "bench.burst", values[:args.burst])
        out.get(timeout=900)
        proc.join()
        burst_store = Store(burst_db)
        with burst_store.session() as s:
            queued = [d.created for d in s.query(Delivery).all() if "counterpart candidate" in str(d.payload)]
            waiting = s.query(CandidateRecord).filter(CandidateRecord.digest.is_(None)).count()
            listed = s.query(CandidateRecord).count()
        burst_store.close()
        if queued:  # digests go out while the visit streams in (GWBOT_CANDIDATE_DIGEST_SECONDS=1 here)
            print(f"3. burst of {args.burst}: the last of {len(queued)} digests queued {max(queued) - written:+.1f} s "
                  f"after the last alert was written; {listed} candidates, {waiting} not yet in a digest")
        else:
            print("3. burst: no digest queued")

        # 4. one vs two worker processes in one group
        results = {}
        for workers in (1, 2):
            topic = f"bench.scale{workers}"
            broker.create_topics([topic], partitions=4)
            produce(broker.address, topic, values[:args.alerts])
            counter = ctx.Value("l", 0)
            out = ctx.Queue()
            procs = [ctx.Process(target=_proc, args=(settings_for(broker.address, topic, db, f"scale{workers}"),
                                                     args.alerts, counter, out)) for _ in range(workers)]
            broker_cpu = cpu_seconds(broker.process.pid)  # type: ignore[union-attr]
            for proc in procs:
                proc.start()
            spans = [out.get(timeout=900) for _ in procs]
            broker_cpu = cpu_seconds(broker.process.pid) - broker_cpu  # type: ignore[union-attr]
            for proc in procs:
                proc.join()
            first = min(s[0] for s in spans if s[0])
            last = max(s[1] for s in spans)
            if last - first < 0.05:  # a tiny run (CI) reads everything in one batch: there is no rate to give
                print(f"4. {workers} worker process(es): {args.alerts} alerts in one batch, too few to time")
                results[workers] = float("nan")
                continue
            results[workers] = args.alerts / (last - first)
            busy = sum(s[3] for s in spans) + broker_cpu
            print(f"4. {workers} worker process(es): {results[workers]:.0f} alerts/s "
                  f"(split {[s[2] for s in spans]}); CPU: workers {sum(s[3] for s in spans):.1f} s + broker "
                  f"{broker_cpu:.1f} s = {busy / (last - first):.2f} of {os.cpu_count()} cores busy")
        print(f"   two workers / one: {results[2] / results[1]:.2f}x (broker and workers share {os.cpu_count()} cores)")

    # 5. memory
    settings = settings_for("127.0.0.1:1", "none", db, "memory")
    worker = CandidateWorker(settings, settings.candidates.brokers[0], store, lambda *a: None)
    batch = [Message("t", v, None, 0, i) for i, v in enumerate(values[:1000])]
    marks = {}
    early = max(1000, min(10000, args.memory // 10 // 1000 * 1000))  # after the warm-up: 10,000 in the full run
    for done in range(1000, args.memory + 1, 1000):
        worker.process(batch)
        if done in (early, args.memory):
            marks[done] = rss_mib()
    print(f"5. memory: {marks[early]:.0f} MiB after {early:,} alerts, {marks[args.memory]:.0f} MiB after "
          f"{args.memory:,}: {100 * (marks[args.memory] / marks[early] - 1):+.1f}%")


def _whole_proc(settings, total, counter, out) -> None:
    out.put(consume_all(settings, total, counter, whole_alert=True))


if __name__ == "__main__":
    main()
