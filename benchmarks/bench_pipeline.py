"""Alert-to-Slack latency and memory of `gwbot run`, against a real tansu broker and the local Slack server.

    python benchmarks/bench_pipeline.py [--alerts 1000] [--latency 60]

Each alert is a copy of a real ~1 MB igwn.gwalert (S241102br, JSON transport) under a new
superevent ID. Alerts are produced one at a time; for each, the time from the producer's write
to the summary arriving at the Slack server, and from the summary to its picture. The bot runs
as its own process; its resident memory is read from /proc after alert 100 and at the end.
The local Slack server's rate limit is lifted here: this measures the bot, not Slack's limits
(the tests cover 429 handling).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.slack_server import FakeSlack  # noqa: E402
from helpers import json_bytes, variant, wait_for  # noqa: E402

from bot.ingest.local_broker import LocalBroker  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--alerts", type=int, default=1000, help="alerts in all (memory is compared at 100 and the end)")
    p.add_argument("--latency", type=int, default=60, help="how many of the first alerts to time")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    template = variant("S241102br-preliminary.json", "S000000a", significant=False)
    from hop import Stream

    with LocalBroker(log_file=tmp / "tansu.log") as broker, FakeSlack(rate_per_second=1e6, burst=10**6) as slack:
        slack.add_channel("gw-alerts")
        broker.create_topics(["igwn.gwalert"])
        env = {**os.environ, "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
               "HOP_URL": f"kafka://{broker.address}/igwn.gwalert", "GWBOT_GROUP_ID": "bench",
               "GWBOT_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}", "GWBOT_ALERTS_CHANNEL": "gw-alerts"}
        bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--log-level", "WARNING"], env=env,
                               stderr=open(tmp / "bot.log", "wb"))
        summary_latency, picture_lag, rss = [], [], {}
        producer = Stream(auth=False).open(f"kafka://{broker.address}/igwn.gwalert", "w", automatic_offload=False)
        try:
            for i in range(args.alerts):
                sid = f"S{900000 + i:06d}a"
                # created now, as a live alert is (a fixed old date falls under GWBOT_POST_MAX_AGE: stored, not posted)
                created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                record = dict(template, superevent_id=sid, time_created=created)
                payload = json_bytes(record)
                sent = time.time()
                producer.write_raw(payload, headers=[("_format", b"json")], topic="igwn.gwalert")
                producer.flush()

                def arrived(sid=sid):
                    msgs = [m for m in slack.messages("gw-alerts") if m["text"].startswith(sid) or
                            any(f.get("name", "").startswith(sid) for f in m.get("files") or [])]
                    text = next((m for m in msgs if m.get("blocks")), None)
                    pic = next((m for m in msgs if m.get("files")), None)
                    return (text, pic) if text and pic else None

                text, pic = wait_for(arrived, 60, f"alert {sid}", alive=[bot])
                if i < args.latency:
                    summary_latency.append(text["received"] - sent)
                    picture_lag.append(pic["received"] - text["received"])
                if i + 1 in (100, args.alerts):
                    rss[i + 1] = rss_mib(bot.pid)
                if (i + 1) % 100 == 0:
                    print(f"  {i + 1} alerts, RSS {rss_mib(bot.pid):.0f} MiB", flush=True)
        finally:
            producer.close()
            bot.terminate()
            bot.wait(20)
    n = len(summary_latency)
    print(f"== alert produced -> summary at Slack, {n} alerts with a 1 MB sky map")
    print(f"p50 {statistics.median(summary_latency):.3f} s   p95 {percentile(summary_latency, 0.95):.3f} s"
          f"   max {max(summary_latency):.3f} s")
    print(f"== summary -> picture: p50 {statistics.median(picture_lag):.3f} s   max {max(picture_lag):.3f} s")
    if 100 in rss and args.alerts in rss and args.alerts > 100:
        growth = rss[args.alerts] / rss[100] - 1
        print(f"== resident memory: {rss[100]:.0f} MiB at alert 100, {rss[args.alerts]:.0f} MiB at alert "
              f"{args.alerts} ({100 * growth:+.1f}%)")


if __name__ == "__main__":
    main()
