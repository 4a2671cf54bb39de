"""Candidate evidence: the picture's time per candidate, and the worker's rate with evidence on and off.

    python benchmarks/bench_evidence.py [--pictures 20] [--alerts 20000] [--rounds 3]

1. The evidence picture (light curve and three cutouts) of two real alerts in tests/data: a Rubin alert as Fink
   sent it (420 points, 35-46 kB plain-FITS cutouts) and a ZTF one (55 points, gzipped cutouts). Target: 0.5 s.
   The reference in the same run: matplotlib drawing an empty figure of the same size to PNG (the floor any
   picture pays).
2. One candidate worker, in this process (no Kafka: what evidence adds is decoding and storing, not
   fetching): Rubin 11.1 alerts of real size (bench_candidates' alerts: 1% inside an event's region, with
   history, and the real Rubin alert's three cutouts) through ``process`` and the digest housekeeping, with
   GWBOT_CANDIDATE_EVIDENCE=0 (today's worker: no light curve, no cutouts read) and =3 (light curves, stamps and
   scores for every candidate kept, 3 pictures per digest queued), rounds alternating, a fresh database each,
   after a warm-up. Target: evidence on within 10% of off.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import fastavro

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_candidates import EVENTS, alerts, make_store, settings_for  # noqa: E402
from conftest import data_file  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bot.brokers import fink  # noqa: E402
from bot.brokers.decoders import Message  # noqa: E402
from bot.candidates.worker import CandidateWorker  # noqa: E402
from bot.events.maps import MapCache  # noqa: E402
from bot.vetting.picture import evidence_png  # noqa: E402

REAL = ("fink-lsst-real-313893023095193658.avro", "fink-ztf-real-with-cutouts.avro")
BATCH = 1000


def read_container(name: str) -> tuple[str, dict]:
    with (data_file("brokers") / name).open("rb") as f:
        reader = fastavro.reader(f)
        return reader.metadata["avro.schema"], next(reader)


def real_candidate(name: str):
    schema, alert = read_container(name)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(json.loads(schema)), alert)
    return fink.decode_detail(buf.getvalue(), schema.encode(), "fink")


def empty_png() -> bytes:
    fig = Figure(figsize=(10.0, 3.0), dpi=90)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def worker_rate(values: list[bytes], evidence: int, now: float, tmp: Path, round_no: int) -> float:
    db = f"sqlite:///{tmp / f'evidence-{evidence}-{round_no}.sqlite'}"
    store = make_store(db, now)
    settings = settings_for("127.0.0.1:1", "none", db, "bench").replace(candidate_evidence=evidence)
    worker = CandidateWorker(settings, settings.candidates.brokers[0], store, lambda *a: None, MapCache(store),
                             clock=lambda: now)
    worker.targets()  # the maps read and prepared before the clock starts, as in a running worker
    messages = [Message("t", v, None, 0, i) for i, v in enumerate(values)]
    t0 = time.perf_counter()
    for i in range(0, len(messages), BATCH):
        worker.process(messages[i:i + BATCH])
        worker.housekeeping()
    elapsed = time.perf_counter() - t0
    store.close()
    return len(values) / elapsed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pictures", type=int, default=20)
    p.add_argument("--alerts", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    # 1. the picture
    floor = statistics.median(timed(empty_png, max(3, args.pictures // 4)))
    for name in REAL:
        c = real_candidate(name)
        merger = min(pt.mjd for pt in c.photometry) - 0.5
        times = timed(lambda c=c, merger=merger: evidence_png(c.object_id, c.photometry, c.cutouts, merger),
                      args.pictures)
        p50 = statistics.median(times)
        print(f"1. evidence picture, {name.split('-')[1]} alert ({len(c.photometry)} points, cutouts "
              f"{sum(len(x or b'') for x in (c.cutouts.science, c.cutouts.template, c.cutouts.difference)) // 1024} kB)"
              f": p50 {p50:.3f} s, max {max(times):.3f} s over {len(times)} (target 0.5 s: "
              f"{'met' if max(times) <= 0.5 else 'MISSED'}); an empty figure of the same size {floor:.3f} s: "
              f"{p50 / floor:.1f}x the floor")

    # 2. the worker's rate
    tmp = Path(tempfile.mkdtemp())
    now = time.time()
    store = make_store(f"sqlite:///{tmp / 'prepare.sqlite'}", now)
    prepared = MapCache(store).latest(EVENTS[0])[1]  # type: ignore[index]
    import numpy as np

    inside = (float(np.rad2deg(prepared.mode_ra)), float(np.rad2deg(prepared.mode_dec)))
    store.close()
    _, real = read_container(REAL[0])  # the real Rubin alert's stamps (35-46 kB of FITS each) on every alert
    values = alerts(args.alerts, inside, now, stamps=(real["cutoutScience"], real["cutoutTemplate"],
                                                     real["cutoutDifference"]))
    worker_rate(values[:BATCH], 3, now, tmp, -1)  # warm-up: the evidence reader is generated once per process
    rates: dict[int, list[float]] = {0: [], 3: []}
    for r in range(args.rounds):
        for evidence in ((0, 3) if r % 2 == 0 else (3, 0)):
            rates[evidence].append(worker_rate(values, evidence, now, tmp, r))
    off, on = statistics.median(rates[0]), statistics.median(rates[3])
    print(f"2. one worker, {args.alerts} Rubin alerts ({args.alerts // 100} in a region), median of {args.rounds}: "
          f"evidence off {off:.0f} alerts/s, on {on:.0f} alerts/s: on/off {on / off:.3f} "
          f"(target >= 0.90: {'met' if on / off >= 0.9 else 'MISSED'}); rounds off {[round(x) for x in rates[0]]}, "
          f"on {[round(x) for x in rates[3]]}")


if __name__ == "__main__":
    main()
