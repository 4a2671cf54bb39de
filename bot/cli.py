"""``gwbot``: the command-line face of the bot (a thin layer over the library)."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot import formatting as fmt
from bot.config import ConfigError
from bot.coords import CoordinateError, parse_dec, parse_distance, parse_ra, parse_time
from bot.ingest.gwalert import AlertError
from bot.plans.errors import PlanError
from bot.skymap.io import SkymapError

EXIT_USAGE = 2


def _json_value(value):
    """NaN and inf become null, numpy scalars plain numbers."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def cmd_skymap(args: argparse.Namespace) -> int:
    from bot.ingest.files import load
    from bot.skymap.prepared import prepare
    from bot.skymap.render import labels_for, render_png
    from bot.skymap.summary import summarize

    source = load(args.file)
    prepared = prepare(source.skymap)
    summary = summarize(prepared)
    combined = summarize(prepare(source.combined)) if source.combined is not None else None
    alert = source.alert
    event_id = alert.superevent_id if alert else summary.objid
    alert_type = alert.alert_type if alert else None
    if args.png:
        shown = prepared if args.map == "gw" else prepare(source.pick("combined"))
        Path(args.png).write_bytes(render_png(shown, labels_for(summarize(shown), event_id, alert_type)))
    if args.json:
        out = _summary_json(summary)
        out.update(superevent_id=event_id, alert_type=alert_type, png=args.png)
        if combined is not None:
            out["combined"] = {**_summary_json(combined), "observatory": source.observatory}
        print(json.dumps(out))
        return 0
    print(f"{event_id or 'sky map'}" + (f" ({alert_type})" if alert_type else ""))
    print(f"  90% area: {fmt.area(summary.area_90_deg2)}   50% area: {fmt.area(summary.area_50_deg2)}")
    print(f"  most probable position: RA {summary.ra_deg:.3f}° Dec {summary.dec_deg:+.3f}°"
          f" ({fmt.ra_hms(summary.ra_deg)} {fmt.dec_dms(summary.dec_deg)})")
    if summary.distance_mean_mpc is not None:
        print(f"  distance: {fmt.distance(summary.distance_mean_mpc, summary.distance_std_mpc)}"
              f" (distance modulus {summary.distance_modulus:.2f})")
    else:
        print("  distance: not in this map")
    details = [f"{summary.npix} pixels"]
    if summary.instruments:
        details.append("detectors " + " ".join(summary.instruments))
    if summary.event_time:
        details.append(f"event time {summary.event_time} UTC")
    print("  " + ", ".join(details))
    if combined is not None:
        print(f"  with {source.observatory}: 90% area {fmt.area(combined.area_90_deg2)}, most probable position "
              f"RA {combined.ra_deg:.3f}° Dec {combined.dec_deg:+.3f}° (combined map; assumes the coincidence is real)")
    if args.png:
        print(f"  picture: {args.png}" + (" (combined map)" if args.map == "combined" else ""))
    return 0


def _summary_json(summary) -> dict:
    return {k: _json_value(v) if not isinstance(v, list) else v for k, v in summary.to_dict().items()}


def cmd_check(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from bot.commands.check import check
    from bot.commands.parse import Transient
    from bot.commands.text import check_lines
    from bot.ingest.files import load
    from bot.skymap.crossmatch import verdict_text
    from bot.skymap.prepared import prepare

    ra, dec = parse_ra(args.ra), parse_dec(args.dec)
    dist = parse_distance(args.distance) if args.distance is not None else None
    when = parse_time(args.time) if args.time else None
    source = load(args.file)
    event_time = source.alert.event.time if source.alert and source.alert.event else source.skymap.meta.get("date_obs")
    merger = fmt.parse_utc(event_time) if event_time else None
    result = check(prepare(source.skymap), [Transient(ra, dec, dist, when, f"RA {ra:.4f} Dec {dec:+.4f}")], merger,
                   source.alert.superevent_id if source.alert else None,
                   prepare(source.combined) if source.combined is not None else None, source.observatory)
    if args.json:
        c = result.candidates[0]
        row = {k: v for k, v in asdict(c).items() if k not in ("label", "reasons", "combined_credible_level")}
        if row["days_since_merger"] is None:
            del row["days_since_merger"]
        row["verdict"] = verdict_text(c.plausibility, c.reasons)
        if c.combined_credible_level is not None:
            row["combined"] = {"credible_level": c.combined_credible_level, "observatory": result.combined_observatory}
        print(json.dumps(row))
        return 0
    print("\n".join(check_lines(result)))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from bot import config
    from bot.ingest.files import load
    from bot.plans.build import build, first_windows
    from bot.plans.request import PlanRequest
    from bot.skymap.prepared import prepare

    source = load(args.file)
    event_id = source.alert.superevent_id if source.alert else (source.skymap.meta.get("objid") or "skymap")
    start = parse_time(args.start) if args.start else None
    filters = tuple(f.strip() for f in args.filters.split(",") if f.strip()) if args.filters else None
    overrides = {"galaxy_complete_to_mpc": args.complete_to} if args.complete_to else {}
    request = PlanRequest(args.facility, args.instrument, filters, args.exposure, args.fields, args.hours,
                          galaxies=bool(args.galaxies), map=args.map, revisit=args.revisit,
                          revisit_gap_min=args.revisit_gap)
    result = build(prepare(source.pick(args.map)), event_id, config.load(**overrides), request, start=start,
                   catalogue=args.galaxies)
    if args.png:
        Path(args.png).write_bytes(result.png)
    if args.json:
        print(json.dumps(result.to_dict(), default=str))
        return 0
    p = result.plan
    revisits = len(p.fields) - len(p.first_visits)
    again = f" ({revisits} revisited in {p.revisit})" if p.revisit else ""
    print(f"{event_id}: {result.facility.title}, {p.instrument}, {len(p.first_visits)} fields scheduled{again}, "
          f"{p.covered_prob:.1%} of the probability")
    print(f"  window {p.start:%Y-%m-%d %H:%M} – {p.end:%Y-%m-%d %H:%M} UTC; filters {', '.join(p.filters)}, "
          f"{p.exposure_s:g} s each; total exposure {p.total_exposure_s / 3600:.1f} h")
    for code, seconds in p.seconds_per_site.items():
        print(f"  {code}: {seconds / 3600:.1f} h of telescope time, first exposure {first_windows(p)[code]:%H:%M} UTC")
    for note in [result.validation_note, *p.notes]:
        print(f"  {note}")
    return 0


def _settings(args: argparse.Namespace, log_file: bool = False, **overrides):
    """The settings, and the logs set up: JSON lines on stderr, or with ``log_file`` in GWBOT_OUTPUT_DIR's
    ``gwbot.log`` (the demo's terminal keeps its readable lines)."""
    from bot import config, logs

    if getattr(args, "dry_run", False):
        overrides["dry_run"] = True
    if getattr(args, "output_dir", None):
        overrides["output_dir"] = args.output_dir
    settings = config.load(**overrides)
    file = None
    if log_file:
        Path(settings.output_dir).mkdir(parents=True, exist_ok=True)
        file = Path(settings.output_dir) / "gwbot.log"
    logs.setup(getattr(args, "log_level", "INFO"), secrets=settings.secret_values(), file=file)
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import Bot

    bot = Bot(_settings(args))

    def stop(signum, _frame):  # `docker stop` sends SIGTERM: leave as cleanly as for Ctrl-C
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        bot.run()
    except KeyboardInterrupt:
        pass
    finally:
        bot.shutdown()
    return 0


def cmd_candidates(args: argparse.Namespace) -> int:
    """Candidate workers as separate processes in the brokers' consumer groups, until Ctrl-C or SIGTERM."""
    import multiprocessing

    from bot.candidates.procs import check_ready, run_processes
    from bot.store import Store

    settings = _settings(args)
    stop = multiprocessing.get_context("spawn").Event()

    def on_signal(signum, _frame):  # not stop.set() here: that could deadlock with stop.wait() below
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    check_ready(settings)  # a setup that cannot work is said before anything is touched
    Store(settings.store.database_url).close()  # the schema brought up to date once, under its lock, before the workers
    procs = run_processes(settings, args.workers, stop)
    print(f"gwbot candidates: {len(procs)} worker process(es) reading "
          f"{', '.join(b.name for b in settings.candidates.brokers)}; Ctrl-C to stop", flush=True)
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    stop.set()
    for proc in procs:
        proc.join(timeout=30)
    return 0 if all(p.exitcode == 0 for p in procs) else 1


def cmd_replay(args: argparse.Namespace) -> int:
    """Each file through the pipeline, whatever its age; one line per file with its outcome; exit 1 when any
    file was malformed or unreadable. A dry run without a database of its own uses a throw-away one."""
    import os
    import tempfile

    from bot.app import Bot
    from bot.events.pipeline import RawMessage
    from bot.ingest.files import topic_for

    overrides: dict = {"post_max_age_s": float("inf")}
    scratch = None
    if args.dry_run and not (args.database or os.environ.get("GWBOT_DATABASE_URL")):
        scratch = tempfile.TemporaryDirectory(prefix="gwbot-replay-")
        overrides["database_url"] = f"sqlite:///{Path(scratch.name) / 'replay.sqlite'}"
    elif args.database:
        overrides["database_url"] = args.database
    bot = Bot(_settings(args, **overrides))
    outcomes = []
    for offset, path in enumerate(args.files):
        try:
            data = Path(path).read_bytes()
            outcome = bot.pipeline.handle(RawMessage(topic_for(data), data, None, 0, offset))
            detail = f": {bot.pipeline.last_error}" if outcome == "malformed" else ""
        except OSError as exc:
            outcome, detail = "malformed", f": cannot read it ({exc.strerror})"
        except Exception as exc:  # never a traceback: say which file and why, and go on
            outcome, detail = "malformed", f": {type(exc).__name__}: {exc}"
        outcomes.append(outcome)
        print(f"{path}: {outcome}{detail}")
    bot.outbox.drain(args.timeout)
    bot.store.close()
    if scratch is not None:
        scratch.cleanup()
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in sorted(set(outcomes)))
    print(f"gwbot replay: {len(outcomes)} files: {counts}")
    return 1 if "malformed" in outcomes else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    to_file = args.log_format == "file"
    settings = _settings(args, log_file=to_file)
    if to_file:
        print(f"gwbot demo: logs (JSON lines) go to {Path(settings.output_dir) / 'gwbot.log'}", flush=True)
    out = run_demo(settings)
    where = "your Slack workspace" if settings.posts_to_slack else f"{out.resolve()} (Block Kit JSON and PNG)"
    print(f"gwbot demo: done. Messages went to {where}.")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """The database's schema: which revision it has (``current``), bring it to this release's (``upgrade``), or
    write a new migration from what the models have and the database lacks (``revision``, for developers)."""
    from bot import config
    from bot.store import migrate
    from bot.store.db import engine_for

    settings = config.load(**({"database_url": args.database} if args.database else {}))
    engine = engine_for(settings.store.database_url)
    try:
        if args.action == "upgrade":
            done = migrate.upgrade(engine)
            print(f"database at {done.after}" + (f" (was {done.before or 'without migrations'})" if done.migrated
                                                 else " already (nothing to do)"))
        elif args.action == "current":
            found, head = migrate.current(engine), migrate.head()
            state = "up to date" if found == head else f"behind: `gwbot db upgrade` brings it to {head}"
            print(f"{found or 'none (empty, or made before migrations)'}: {state}")
        else:
            if not args.message:
                raise ConfigError("gwbot db revision needs a message: gwbot db revision -m 'what changed'")
            migrate.revision(engine, args.message)
    finally:
        engine.dispose()
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from bot.app import healthy

    ok, why = healthy()
    print(why)
    return 0 if ok else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gwbot", description="Slack bot for gravitational-wave follow-up.")
    p.add_argument("--version", action="version", version=f"gwbot {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("skymap", help="summarize (and draw) a sky map from an alert or FITS file")
    s.add_argument("file", help="alert (.avro, .json) or FITS sky map (multi-order or flat, .gz ok)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--png", metavar="OUT.png", help="write the picture here")
    s.add_argument("--map", choices=["gw", "combined"], default="gw",
                   help="which map to draw: the GW localization (default) or the combined GW x external one")
    s.set_defaults(func=cmd_skymap)

    c = sub.add_parser("check", help="how plausible is a transient at RA, Dec as the counterpart")
    c.add_argument("file", help="alert (.avro, .json) or FITS sky map")
    c.add_argument("ra", help="degrees (197.45) or hours (13:09:48.1)")
    c.add_argument("dec", help="degrees (-23.38) or -23:22:53")
    c.add_argument("--distance", metavar="MPC", help="candidate luminosity distance in Mpc")
    c.add_argument("--time", metavar="ISO8601", help="when the candidate was seen (UTC)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=cmd_check)

    pl = sub.add_parser("plan", help="tile the localization for a facility (lco, ztf, or your own)")
    pl.add_argument("file", help="alert (.avro, .json) or FITS sky map")
    pl.add_argument("facility", help="facility name: lco, ztf, or one from GWBOT_CONFIG")
    pl.add_argument("instrument", nargs="?", help="instrument name or alias (default: the facility's)")
    pl.add_argument("--filters", help="comma-separated filters, e.g. gp,rp")
    pl.add_argument("--exposure", type=float, default=300.0, help="seconds per exposure (default 300)")
    pl.add_argument("--fields", type=int, help="at most this many fields")
    pl.add_argument("--revisit", metavar="FILTER", help="observe every field again in this filter")
    pl.add_argument("--revisit-gap", type=float, default=30.0, metavar="MIN",
                    help="minutes from a field's first visit to its revisit, at least (default 30)")
    pl.add_argument("--hours", type=float, default=24.0, help="length of the observing window (default 24)")
    pl.add_argument("--start", metavar="ISO8601", help="window start (default now)")
    pl.add_argument("--galaxies", metavar="CATALOGUE", help="target galaxies from this CSV/FITS (ra, dec, distance)")
    pl.add_argument("--complete-to", type=float, metavar="MPC", help="distance to which the catalogue is complete")
    pl.add_argument("--json", action="store_true", help="print one JSON object")
    pl.add_argument("--png", metavar="OUT.png", help="write the plan's picture here")
    pl.add_argument("--map", choices=["gw", "combined"], default="gw",
                    help="plan on the GW localization (default) or the combined GW x external map")
    pl.set_defaults(func=cmd_plan)

    for name, func, text in (
        ("run", cmd_run, "run the bot: read HOP_URL and post to Slack (or to files without SLACK_BOT_TOKEN)"),
        ("demo", cmd_demo, "start a local broker, publish the bundled sample alerts and run the bot on them"),
        ("replay", cmd_replay, "run alert files through the same pipeline"),
        ("candidates", cmd_candidates, "read the [[brokers]] streams: candidates in active events' regions"),
    ):
        r = sub.add_parser(name, help=text)
        r.add_argument("--dry-run", action="store_true", help="write messages to GWBOT_OUTPUT_DIR, not Slack")
        r.add_argument("--output-dir", help="where dry-run output goes (GWBOT_OUTPUT_DIR)")
        r.add_argument("--log-level", default="INFO", type=str.upper,
                       choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], help="any case")
        r.set_defaults(func=func)
        if name == "replay":
            r.add_argument("files", nargs="+", help="alert, circular or notice files (.avro, .json)")
            r.add_argument("--database", metavar="URL",
                           help="database to use (default: GWBOT_DATABASE_URL; a throw-away one in a dry run)")
            r.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for Slack deliveries")
        if name == "candidates":
            r.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
        if name == "demo":
            r.add_argument("--log-format", choices=["file", "json"], default="file",
                           help="file: logs to GWBOT_OUTPUT_DIR/gwbot.log, the terminal shows the readable lines "
                                "only (default); json: JSON log lines on stderr")
    d = sub.add_parser("db", help="the database schema: current revision, upgrade, or a new revision")
    d.add_argument("action", choices=["current", "upgrade", "revision"])
    d.add_argument("--database", metavar="URL", help="database (default: GWBOT_DATABASE_URL)")
    d.add_argument("-m", "--message", help="revision: what the new migration changes")
    d.set_defaults(func=cmd_db)
    h = sub.add_parser("health", help="exit 0 when a running bot's heartbeat is fresh (container HEALTHCHECK)")
    h.set_defaults(func=cmd_health)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # negative declinations look like options to argparse: keep them positional
    if argv[:1] == ["check"]:
        argv = [f" {a}" if a[:1] == "-" and a[1:2].isdigit() else a for a in argv]
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (SkymapError, AlertError, CoordinateError, ConfigError, PlanError) as exc:
        print(f"gwbot {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
