"""LCO 1 m plan of a sample map: our planner vs gwemopt, with the covered probability recomputed independently.

    python benchmarks/bench_plan.py [--gwemopt-python /path/to/venv/bin/python] [--repeat 5]

Ours: sky map bytes -> ranked map -> plan (fields, visibility at every LCO 1 m site) -> picture ->
validation by a local LCO portal, i.e. everything behind the plan message. gwemopt (optional: give the
python of an environment where `pip install gwemopt` worked) plans the same map for a 1 m LCO telescope
at lsc, whole sky and restricted to the 90% region, in the same run. Covered probability is recomputed
from the fields' footprints with healpy's query_polygon on the map rasterized by ligo.skymap (nside 2048):
different code from the planner's own bookkeeping.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import skymap_bytes  # noqa: E402
from fakes.lco_server import FakeLCO  # noqa: E402

from bot import config  # noqa: E402
from bot.plans.build import build  # noqa: E402
from bot.plans.request import PlanRequest  # noqa: E402
from bot.skymap.io import read_skymap  # noqa: E402
from bot.skymap.prepared import prepare  # noqa: E402

ALERT = "S241102br-initial.json"
START = datetime(2024, 11, 2, 13, 0, tzinfo=UTC)
GWEMOPT_SCRIPT = textwrap.dedent("""
    import os, shutil, sys, tempfile, pathlib
    import gwemopt.paths, gwemopt.params
    cfg = pathlib.Path(tempfile.mkdtemp())
    for f in gwemopt.paths.CONFIG_DIR.iterdir():
        shutil.copy(f, cfg)
    tess = cfg / "LCO1m.tess"
    (cfg / "LCO1m.config").write_text(os.environ["LCO1M_CONFIG"] + "tesselationFile " + str(tess) + chr(10))
    gwemopt.paths.CONFIG_DIR = gwemopt.params.CONFIG_DIR = cfg
    from gwemopt.run import run
    run(sys.argv[1:])
""")  # gwemopt with an "LCO1m" telescope whose config comes from $LCO1M_CONFIG


def lco1m_config(lat: float, lon: float, elevation: float) -> str:
    """gwemopt's config of one LCO 1 m telescope: a 26.5' square field, 300 s in r, airmass <= 2."""
    return (f"filt rp\nmagnitude 21.0\nexposuretime 300\nlatitude {lat}\nlongitude {lon}\nelevation {elevation}\n"
            "FOV_coverage 0.4417\nFOV 0.4417\nFOV_coverage_type square\nFOV_type square\nslew_rate 2.0\n"
            "readout 28\nhorizon 30\noverhead_per_exposure 30\nfilt_change_time 10\n")


LCO1M_CONFIG = lco1m_config(-30.167383, -70.804789, 2201.0)  # lsc


def independent_coverage(fits: bytes, fields: list[tuple[float, float]], fov: tuple[float, float],
                         boxes: list[tuple[float, float, float, float]] | None = None) -> float:
    """Probability of the union of the fields' footprints (each CCD, ``boxes`` as (x0, x1, y0, y1) in the tangent
    plane; the whole ``fov`` rectangle without), with healpy's query_polygon on the map rasterized by ligo.skymap."""
    import healpy as hp
    from astropy.table import Table
    from ligo.skymap.moc import rasterize

    table = Table.read(__import__("io").BytesIO(fits), format="fits")
    flat = rasterize(table, order=11)
    prob = np.asarray(flat["PROBDENSITY"]) * hp.nside2pixarea(2048)
    boxes = boxes or [(-fov[0] / 2, fov[0] / 2, -fov[1] / 2, fov[1] / 2)]
    pixels = set()
    for ra, dec in fields:
        r0, d0 = np.deg2rad(ra), np.deg2rad(dec)
        for x0, x1, y0, y1 in boxes:
            corners = []
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):  # tangent plane -> sky
                x, y = np.deg2rad(x), np.deg2rad(y)
                rho, c = np.hypot(x, y), np.arctan(np.hypot(x, y))
                d = np.arcsin(np.cos(c) * np.sin(d0) + (y * np.sin(c) * np.cos(d0) / rho if rho else 0.0))
                r = r0 + np.arctan2(x * np.sin(c), rho * np.cos(d0) * np.cos(c) - y * np.sin(d0) * np.sin(c))
                corners.append(hp.ang2vec(np.pi / 2 - d, r))
            pixels.update(hp.query_polygon(2048, np.array(corners), nest=True, inclusive=False).tolist())
    return float(prob[list(pixels)].sum())


def run_gwemopt(python: str, fits: Path, out: Path, restrict: bool) -> tuple[float, str]:
    args = [python, "-c", GWEMOPT_SCRIPT, "-t", "LCO1m", "-o", str(out), "-e", str(fits), "--doTiles", "--doSchedule",
            "--scheduleType", "greedy", "--timeallocationType", "powerlaw", "--filters", "r", "--exposuretimes",
            "300", "--doSingleExposure", "--gpstime", str(1414586476.0)]
    if restrict:
        args += ["--confidence_level", "0.9"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, check=True, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "LCO1M_CONFIG": LCO1M_CONFIG})
    seconds = time.perf_counter() - t0
    covered = [line for line in proc.stdout.splitlines() if line.startswith("Cumultative probability")]
    return seconds, covered[-1].split(":")[1].strip() if covered else "?"


def through_slack(lco, repeat: int) -> list[float]:
    """/gw plan as Slack sends it (a signed HTTP request) until the plan message reaches the Slack server."""
    import urllib.parse

    from fakes.slack_server import FakeSlack
    from helpers import wait_for
    from test_commands import SECRET, USER, signed

    from bot.app import Bot
    from bot.events.pipeline import RawMessage
    from bot.slack.http import serve
    from bot.slack.listeners import build_app

    tmp = Path(tempfile.mkdtemp())
    out = []
    with FakeSlack(rate_per_second=1e6, burst=10**6) as slack:
        channel = slack.add_channel("followup")
        slack.add_channel("gw-alerts")
        settings = config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url,
                                "SLACK_SIGNING_SECRET": SECRET, "GWBOT_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
                                "LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal,
                                "GWBOT_POST_MAX_AGE": "36500d"})
        bot = Bot(settings)
        from conftest import data_file

        bot.pipeline.handle(RawMessage("igwn.gwalert", data_file(ALERT).read_bytes(), None, 0, 0))
        bot.outbox.drain(60)
        bot.start_background()  # the plan message goes out through the outbox
        server = serve(build_app(settings, bot.answers, socket_mode=False, outbox=bot.outbox, plans=bot.plans), 0,
                       host="127.0.0.1")
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        for i in range(repeat):
            before = len([m for m in slack.messages("followup") if m.get("blocks")])
            body = urllib.parse.urlencode({"command": "/gw", "text": "plan S241102br lco sinistro", "user_id": USER,
                                           "channel_id": channel.id, "response_url": f"{slack.url}response/p{i}"})
            t0 = time.time()
            signed(url, body)
            message = wait_for(lambda b=before: (lambda ms: ms[b] if len(ms) > b else None)(
                [m for m in slack.messages("followup") if m.get("blocks")]), 60, "plan message")
            out.append(message["received"] - t0)
        server.shutdown()
        bot.shutdown()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--gwemopt-python", help="python of an environment with gwemopt installed")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    fits = skymap_bytes(ALERT)
    with FakeLCO() as lco:
        settings = config.load({"LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token,
                                "LCO_PROPOSAL_ID": lco.proposal})
        times, result = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            request = PlanRequest("lco", "1M0-SCICAM-SINISTRO", ("rp",), 300.0)
            result = build(prepare(read_skymap(fits)), "S241102br", settings, request, start=START)
            times.append(time.perf_counter() - t0)
        slack_times = through_slack(lco, args.repeat)
    plan = result.plan
    ours = statistics.median(times)
    print(f"== LCO 1 m plan of {ALERT}: {len(plan.fields)} fields, validated: {result.validation_note}")
    print(f"ours: median {ours:.2f} s over {len(times)} runs (map, fields, visibility, picture, validation)")
    print(f"ours in Slack, from the /gw plan request to the plan message at the Slack server: median "
          f"{statistics.median(slack_times):.2f} s, max {max(slack_times):.2f} s")
    recomputed = independent_coverage(fits, [(f.ra, f.dec) for f in plan.fields], result.instrument.fov_deg)
    print(f"covered probability: reported {plan.covered_prob:.4f}, recomputed from the footprints {recomputed:.4f}")
    if args.gwemopt_python:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "map.multiorder.fits"
            path.write_bytes(fits)
            for restrict in (False, True):
                seconds, covered = run_gwemopt(args.gwemopt_python, path, Path(tmp) / f"out{restrict}", restrict)
                label = "restricted to the 90% region" if restrict else "whole map"
                print(f"gwemopt, one 1 m at lsc ({label}): {seconds:.1f} s = x{seconds / ours:.0f} ours;"
                      f" it reports cumulative probability {covered}")
    else:
        print("gwemopt: not measured (give --gwemopt-python)")


if __name__ == "__main__":
    main()
