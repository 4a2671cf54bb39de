"""/gw check response times: signed HTTP requests to the running app, answers at the local Slack server.

    python benchmarks/bench_commands.py [--requests 100]

One candidate: time from sending the slash command to its answer arriving at the response URL
(the map is prepared once per sky map version, so only the first request pays for it).
10,000 candidates: time from the CSV file-share event to the answer in the thread.
For scale, ligo.skymap's crossmatch of one position against the same map is timed in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.parse
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import data_file  # noqa: E402
from fakes.slack_server import FakeSlack  # noqa: E402
from helpers import wait_for  # noqa: E402
from test_commands import SECRET, USER, csv_event, signed  # noqa: E402

from bot import config  # noqa: E402
from bot.app import Bot  # noqa: E402
from bot.events.pipeline import RawMessage  # noqa: E402
from bot.slack.http import serve  # noqa: E402
from bot.slack.listeners import build_app  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=100)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with FakeSlack(rate_per_second=1e6, burst=10**6) as slack:
        slack.add_channel("gw-alerts")
        channel = slack.add_channel("random")
        settings = config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url,
                                "SLACK_SIGNING_SECRET": SECRET, "GWBOT_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
                                "HOP_AUTH": "false"})
        bot = Bot(settings)
        bot.pipeline.handle(RawMessage("igwn.gwalert", data_file("S241102br-initial.json").read_bytes(), None, 0, 0))
        bot.outbox.drain(60)
        bot.start_background()
        server = serve(build_app(settings, bot.answers, socket_mode=False, outbox=bot.outbox), 0, host="127.0.0.1")
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        world = {"slack": slack, "url": url}
        rng = np.random.default_rng(1)
        times = []
        for i in range(args.requests):
            rid = f"bench{i}"
            text = f"check S241102br {rng.uniform(340, 350):.4f} {rng.uniform(36, 46):.4f} {rng.uniform(250, 450):.0f}"
            body = urllib.parse.urlencode({"command": "/gw", "text": text, "user_id": USER, "channel_id": channel.id,
                                           "response_url": f"{slack.url}response/{rid}", "team_id": "T0001"})
            t0 = time.time()
            status, _, _ = signed(url, body)
            assert status == 200
            wait_for(lambda rid=rid: rid in slack.response_times, 10, rid)
            times.append(slack.response_times[rid] - t0)
        print(f"== /gw check, one candidate, {len(times)} requests (first one prepares the map)")
        print(f"p50 {1e3 * statistics.median(times):.0f} ms   p95 {1e3 * percentile(times, 0.95):.0f} ms   "
              f"max {1e3 * max(times):.0f} ms   first {1e3 * times[0]:.0f} ms")

        ra, dec = rng.uniform(0, 360, 10_000), np.rad2deg(np.arcsin(rng.uniform(-1, 1, 10_000)))
        rows = "\n".join(f"AT{i},{a:.5f},{d:.5f},350" for i, (a, d) in enumerate(zip(ra, dec, strict=True)))
        csv_times = []
        for _ in range(5):
            t0 = time.time()
            posted = csv_event(world, "/gw check S241102br", ("name,ra,dec,distance\n" + rows).encode())
            answer = wait_for(lambda posted=posted: next((m for m in slack.messages("random")
                                                          if m["thread_ts"] == posted["ts"]
                                                          and "10,000 candidates" in m["text"]), None), 60, "csv")
            csv_times.append(answer["received"] - t0)
        print(f"== /gw check with a CSV of 10,000 candidates: median {statistics.median(csv_times):.2f} s   "
              f"max {max(csv_times):.2f} s (5 runs)")

        warnings.simplefilter("ignore")
        from astropy import units as u
        from astropy.coordinates import SkyCoord
        from ligo.skymap.io import read_sky_map
        from ligo.skymap.postprocess.crossmatch import crossmatch

        fits = tmp / "map.fits"
        fits.write_bytes(bot.store.latest_skymap("S241102br").fits)
        ref = []
        for _ in range(3):
            t0 = time.time()
            crossmatch(read_sky_map(str(fits), moc=True), SkyCoord(345 * u.deg, 41 * u.deg, 350 * u.Mpc))
            ref.append(time.time() - t0)
        print(f"== for scale: ligo.skymap read + crossmatch of one position with distance: "
              f"{statistics.median(ref):.2f} s (x{statistics.median(ref) / statistics.median(times):.0f} our p50)")
        server.shutdown()


if __name__ == "__main__":
    main()
