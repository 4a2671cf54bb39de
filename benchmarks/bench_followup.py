"""Follow-up rules: from the alert read to the automatic plan's message queued, for a ~1,300 deg² map and one
rule (LCO 1 m, validated by the local LCO portal), beside the same bot with no rule (the summary must not come
later with rules on).

    python benchmarks/bench_followup.py [--alerts 10]

The map is S250910b's (EarlyWarning, 9,574 deg²) sharpened to ~1,300 deg² as in bench_plan_quality; each alert is a
copy of it under a new superevent ID, handled as the stream reader hands it over, with the bot's outbox and
follow-up running as in ``gwbot run`` and the Slack and LCO stand-ins answering. Timed per alert: the summary
queued, the summary at Slack, and the plan's message queued (its ShowPlan delivery written).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_plan_quality import sharpened  # noqa: E402
from conftest import OLD_ALERTS_TOO, skymap_bytes  # noqa: E402
from fakes.lco_server import FakeLCO  # noqa: E402
from fakes.slack_server import FakeSlack  # noqa: E402
from helpers import json_bytes, variant, wait_for  # noqa: E402

from bot import config  # noqa: E402
from bot.app import Bot  # noqa: E402
from bot.events.pipeline import RawMessage  # noqa: E402
from bot.skymap.io import SkyMap, read_skymap  # noqa: E402
from bot.skymap.prepared import prepare  # noqa: E402
from bot.store.delivery import Delivery  # noqa: E402

RULE = """
[[auto_plans]]
facility = "lco"
min_observable = 0.0
"""


def fits_bytes(skymap: SkyMap) -> bytes:
    """A multi-order FITS file of the map, as LVK alerts carry it."""
    from astropy.table import Table

    columns = {"UNIQ": skymap.uniq, "PROBDENSITY": skymap.probdensity}
    if skymap.distmu is not None:
        columns.update(DISTMU=skymap.distmu, DISTSIGMA=skymap.distsigma, DISTNORM=skymap.distnorm)
    out = io.BytesIO()
    Table(columns).write(out, format="fits")
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(alerts: list[bytes], rules: bool, tmp: Path) -> tuple[list[float], list[float], list[float]]:
    (tmp / "gwbot.toml").write_text(RULE if rules else "")
    with FakeSlack(rate_per_second=1e6, burst=10**6) as slack, FakeLCO() as lco:
        slack.add_channel("gw-alerts")
        bot = Bot(config.load({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.api_url, "HOP_AUTH": "false",
                               "GWBOT_DATABASE_URL": f"sqlite:///{tmp / ('on' if rules else 'off')}.sqlite",
                               "LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token, "LCO_PROPOSAL_ID": lco.proposal,
                               "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO, "GWBOT_CONFIG": str(tmp / "gwbot.toml")}))
        bot.start_background()
        queued, at_slack, plan = [], [], []
        try:
            for i, data in enumerate(alerts):
                sid = f"S2509{i:02d}zz"
                t0 = time.perf_counter()
                bot.pipeline.handle(RawMessage("igwn.gwalert", data, None, 0, i))
                queued.append(time.perf_counter() - t0)
                wait_for(lambda sid=sid: any(m["text"].startswith(sid) for m in slack.messages("gw-alerts")), 60,
                         f"{sid}'s summary")
                at_slack.append(time.perf_counter() - t0)
                if rules:
                    def shown(sid=sid) -> bool:
                        with bot.store.session() as s:
                            return s.query(Delivery).filter(Delivery.event_id == sid,
                                                            Delivery.kind == "ShowPlan").count() > 0
                    wait_for(shown, 120, f"{sid}'s plan")
                    plan.append(time.perf_counter() - t0)
        finally:
            bot.shutdown()
    return queued, at_slack, plan


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--alerts", type=int, default=10)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    wide = read_skymap(skymap_bytes("S250910b-earlywarning.json"))
    sharp = sharpened(wide, 1300)
    area = float(prepare(sharp).credible_area([0.9])[0])
    fits = fits_bytes(sharp)
    alerts = []
    for i in range(args.alerts):
        record = variant("S250910b-earlywarning.json", f"S2509{i:02d}zz", significant=True)
        record["event"]["skymap"] = fits
        alerts.append(json_bytes(record))
    print(f"{args.alerts} alerts, 90% area {area:,.0f} deg², one rule (LCO 1 m, validated by the LCO stand-in)")
    off = run(alerts, False, tmp)
    on = run(alerts, True, tmp)
    for label, (queued, at_slack, _) in (("rules off", off), ("rules on", on)):
        print(f"{label}: summary queued p50 {statistics.median(queued):.2f} s; at Slack p50 "
              f"{statistics.median(at_slack):.2f} s, p95 {percentile(at_slack, 0.95):.2f} s")
    plan = on[2]
    print(f"alert read -> the automatic plan's message queued: p50 {statistics.median(plan):.2f} s, "
          f"p95 {percentile(plan, 0.95):.2f} s (target <= 20 s)")
    print(f"summary at Slack, rules on / off (p50): {statistics.median(on[1]) / statistics.median(off[1]):.2f}")


if __name__ == "__main__":
    main()
