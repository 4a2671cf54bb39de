"""gwbot's LCO 1 m network plan against gwemopt 0.4.2 (the planner SkyPortal uses), both judged by code that is
neither planner's.

    python benchmarks/bench_vs_gwemopt.py --gwemopt-python /path/to/venv/bin/python [--map S230518h_initial.json]

gwemopt plans one site per run, so it runs once per LCO 1 m site (coj, cpt, elp, lsc, tfn, from
bot/plans/data/lco.toml) on the same map and 24 h window (2025-01-05), 300 s in r, a 26.5' square field,
airmass <= 2 (horizon 30 deg), greedy schedule, tilesType moc, cut to the 90% region. Its five schedules are
pooled; gwbot plans the whole network once. The judge (astropy + healpy, as in bench_plan_quality) keeps the
exposures that are doable at their time from their site (Sun below -12 deg, airmass <= 2 at start and end) and
computes the probability of the union of their true footprints on the map rasterized by ligo.skymap. The
issue's floor: gwbot >= 1.5 x gwemopt's five-site union. gwemopt takes minutes per site: run it by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_plan import GWEMOPT_SCRIPT, independent_coverage, lco1m_config  # noqa: E402
from conftest import skymap_bytes  # noqa: E402

from bot.plans.facilities import builtin  # noqa: E402
from bot.plans.planner import make_plan  # noqa: E402
from bot.skymap.io import read_skymap  # noqa: E402
from bot.skymap.prepared import prepare  # noqa: E402

START = datetime(2025, 1, 5, tzinfo=UTC)


def run_site(python: str, fits: Path, out: Path, site, telescope: str = "LCO1m"
             ) -> tuple[float, float, list[tuple[float, float, datetime]]]:
    """(seconds, gwemopt's own cumulative probability, its exposures: RA, Dec, start)."""
    from astropy.time import Time

    args = [python, "-c", GWEMOPT_SCRIPT, "-t", telescope, "-o", str(out), "-e", str(fits), "--doTiles", "--doSchedule",
            "--scheduleType", "greedy", "--timeallocationType", "powerlaw", "--filters", "r", "--exposuretimes",
            "300", "--doSingleExposure", "--tilesType", "moc", "--confidence_level", "0.9",
            "--gpstime", str(Time(START).gps)]
    t0 = time.perf_counter()
    config = lco1m_config(site.lat_deg, site.lon_deg, site.elevation_m)
    proc = subprocess.run(args, check=True, capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "LCO1M_CONFIG": config})
    seconds = time.perf_counter() - t0
    claimed = [line for line in proc.stdout.splitlines() if line.startswith("Cumultative probability")]
    exposures = []
    schedule = out / f"schedule_{telescope}.dat"
    for line in schedule.read_text().splitlines() if schedule.exists() else []:
        parts = line.split()
        exposures.append((float(parts[1]), float(parts[2]), Time(float(parts[3]), format="mjd").to_datetime(UTC)))
    return seconds, float(claimed[-1].split(":")[1]) if claimed else float("nan"), exposures


def doable(exposures: list[tuple[str, float, float, datetime]], facility, exposure_s: float) -> list:
    """The exposures (site, RA, Dec, start) that astropy finds observable at their start and end."""
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_sun
    from astropy.time import Time

    sites = {s.code: s for s in facility.sites}
    min_alt = np.rad2deg(np.arcsin(1 / facility.limits.airmass_max))
    kept = []
    for code in sorted({e[0] for e in exposures}):
        mine = [e for e in exposures if e[0] == code]
        s = sites[code]
        where = EarthLocation(lat=s.lat_deg * u.deg, lon=s.lon_deg * u.deg, height=s.elevation_m * u.m)
        good = np.ones(len(mine), dtype=bool)
        for shift in (0.0, exposure_s):
            frame = AltAz(obstime=Time([e[3] + timedelta(seconds=shift) for e in mine]), location=where)
            target = SkyCoord([e[1] for e in mine] * u.deg, [e[2] for e in mine] * u.deg).transform_to(frame)
            sun = get_sun(frame.obstime).transform_to(frame)
            good &= (sun.alt.deg <= facility.limits.sun_altitude_max_deg) & (target.alt.deg >= min_alt)
        kept += [e for e, ok in zip(mine, good, strict=True) if ok]
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gwemopt-python", required=True)
    parser.add_argument("--map", default="S230518h_initial.json")
    parser.add_argument("--ztf", action="store_true", help="ZTF (gwemopt's own ZTF set-up, its official grid) "
                        "instead of the LCO network; gwbot is held to gwemopt's number of exposures")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    fits = skymap_bytes(args.map)
    if args.ztf:
        return compare_ztf(args, fits)
    lco = builtin()["lco"]
    inst = lco.instrument(None)
    fov = inst.fov_deg
    t0 = time.perf_counter()
    plan = make_plan(prepare(read_skymap(fits)), lco, inst, start=START, hours=24, exposure_s=300, filters=("rp",))
    ours_s = time.perf_counter() - t0
    ours = [(f.slot.site, f.ra, f.dec, f.slot.start) for f in plan.fields]
    ours_kept = doable(ours, lco, 300)
    ours_judged = independent_coverage(fits, [(e[1], e[2]) for e in ours_kept], fov)
    print(f"{args.map}, {START:%Y-%m-%d}, LCO 1 m network, 300 s r:")
    print(f"  gwbot: {len(ours)} exposures ({len(ours) - len(ours_kept)} not doable) in {ours_s:.1f} s; claims "
          f"{plan.covered_prob:.1%}, judged {ours_judged:.1%}")
    pooled = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.multiorder.fits"
        path.write_bytes(fits)
        for site in lco.sites_for(inst):
            seconds, claimed, exposures = run_site(args.gwemopt_python, path, Path(tmp) / site.code, site)
            kept = doable([(site.code, *e) for e in exposures], lco, 300)
            judged = independent_coverage(fits, [(e[1], e[2]) for e in kept], fov)
            print(f"  gwemopt at {site.code}: {len(exposures)} exposures ({len(exposures) - len(kept)} not doable) in "
                  f"{seconds:.0f} s; claims {claimed:.1%}, judged {judged:.1%}", flush=True)
            pooled += kept
    union = independent_coverage(fits, [(e[1], e[2]) for e in pooled], fov)
    print(f"  gwemopt, five sites pooled: {len(pooled)} doable exposures, judged union {union:.1%}")
    print(f"  gwbot / gwemopt five-site union: {ours_judged / union:.2f} (floor 1.5)")


def compare_ztf(args, fits: bytes) -> None:
    ztf = builtin()["ztf"]
    inst = ztf.instrument(None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.multiorder.fits"
        path.write_bytes(fits)
        seconds, claimed, exposures = run_site(args.gwemopt_python, path, Path(tmp) / "ztf", ztf.sites[0], "ZTF")
    theirs = doable([("P48", *e) for e in exposures], ztf, 300)
    judged = independent_coverage(fits, [(e[1], e[2]) for e in theirs], inst.fov_deg, inst.boxes())
    plan = make_plan(prepare(read_skymap(fits)), ztf, inst, start=START, hours=24, exposure_s=300, filters=("r",),
                     n_fields=len(exposures))
    ours = doable([(f.slot.site, f.ra, f.dec, f.slot.start) for f in plan.fields], ztf, 300)
    ours_judged = independent_coverage(fits, [(e[1], e[2]) for e in ours], inst.fov_deg, inst.boxes())
    print(f"{args.map}, {START:%Y-%m-%d}, ZTF, 300 s r, both on ZTF's official grid, judged with its 16 CCDs:")
    print(f"  gwemopt: {len(exposures)} exposures ({len(exposures) - len(theirs)} not doable) in {seconds:.0f} s; "
          f"claims {claimed:.1%}, judged {judged:.1%}")
    print(f"  gwbot held to {len(exposures)} fields: {len(plan.fields)} exposures ({len(plan.fields) - len(ours)} not "
          f"doable); claims {plan.covered_prob:.1%}, judged {ours_judged:.1%}; ratio {ours_judged / judged:.2f} "
          "(floor 1.0 with no more exposures)")


if __name__ == "__main__":
    main()
