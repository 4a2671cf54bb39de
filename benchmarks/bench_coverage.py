"""Others' coverage: reading and rasterizing 1,000 Treasure Map pointings of a 4-CCD instrument onto an event's
map, and /gw plan for LCO with that coverage subtracted.

    python benchmarks/bench_coverage.py [--pointings 1000] [--repeat 5]

Pointings: a 2 x 2 mosaic of 0.22 deg CCDs (0.44 deg in all), completed, r band, random position angles, spread
over the 90% region of the real O4 map S241102br, served by the local Treasure Map (tests/treasuremap_server.py).

Reported, all in this run:
1. reading (GET pointings, footprint, store) and rasterizing (footprints -> covered pixels -> regions), ours;
2. the same rasterization done as Treasure Map's own coverage calculator does it (gwtm @ c7a124ff :
   server/utils/geometry.py project_footprint, one vertex at a time, then healpy.query_polygon per CCD,
   server/routes/ui/coverage_calculator.py) at the same resolution: the reference, and the areas compared;
3. /gw plan lco with the coverage subtracted vs with --ignore-others (median of --repeat), and the
   probability each adds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import skymap_bytes  # noqa: E402
from treasuremap_server import FakeTreasureMap, square_ccds  # noqa: E402

from bot import config  # noqa: E402
from bot.coordination import footprint as fp  # noqa: E402
from bot.coordination.coverage import CoverageBook  # noqa: E402
from bot.events.maps import MapCache  # noqa: E402
from bot.plans.lifecycle import PlanBook  # noqa: E402
from bot.plans.planner import sample_points  # noqa: E402
from bot.plans.request import PlanRequest  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.events import Event, SkymapVersion  # noqa: E402

EVENT = "S241102br"
INSTRUMENT = 11


def reference_union(polygons: list[np.ndarray], ra: np.ndarray, dec: np.ndarray, pa: np.ndarray, order: int
                    ) -> np.ndarray:
    """Treasure Map's way: each vertex rotated with np.matrix products, each CCD by healpy.query_polygon."""
    import healpy as hp

    def rot(axis: str, t: float) -> np.matrix:
        c, s = np.cos(np.deg2rad(t)), np.sin(np.deg2rad(t))
        return {"x": np.matrix([[1, 0, 0], [0, c, -s], [0, s, c]]),
                "y": np.matrix([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
                "z": np.matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]

    nside = 2 ** order
    pixels = []
    for r0, d0, a0 in zip(ra, dec, pa, strict=True):
        for polygon in polygons:
            xyz = []
            for lon, lat in polygon[:-1] if np.allclose(polygon[0], polygon[-1]) else polygon:
                phi, theta = np.deg2rad(90 - lat), np.deg2rad(lon)
                vec = np.asarray([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])
                xyz.append(np.asarray(vec @ rot("x", -a0) @ rot("y", d0) @ rot("z", -r0)).ravel())
            pixels.append(hp.query_polygon(nside, np.array(xyz), inclusive=False, nest=True))
    return np.unique(np.concatenate(pixels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pointings", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    with tempfile.TemporaryDirectory() as tmp, FakeTreasureMap(events={EVENT}) as tm:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        merger = datetime.now(UTC) - timedelta(hours=12)
        with store.session() as s:
            s.add(SkymapVersion(event_id=EVENT, alert_key="k", alert_type="INITIAL",
                                fits=skymap_bytes("S241102br-initial.json"), created=1.0))
            s.add(Event(event_id=EVENT, facts={"event_time": merger.isoformat()}))
        settings = config.load({"HOP_AUTH": "false", "TREASUREMAP_API_URL": tm.url})
        maps = MapCache(store)
        version, prepared = maps.latest(EVENT)
        ccds = square_ccds(0.44, 2)
        tm.add_instrument(INSTRUMENT, "Four-CCD camera", ccds)
        ra, dec, prob = sample_points(prepared, 0.1, level=0.9)
        pick = rng.choice(len(ra), size=args.pointings, p=prob / prob.sum())
        pas = rng.uniform(0, 90, args.pointings)
        when = (merger + timedelta(hours=2)).replace(tzinfo=None)
        for i, j in enumerate(pick):
            tm.add_pointing(EVENT, ra=float(ra[j]), dec=float(dec[j]), instrumentid=INSTRUMENT, status="completed",
                            band="r", depth=20.5, depth_unit="ab_mag", time=when, pos_angle=float(pas[i]))
        book = CoverageBook(store, settings, maps)

        reads, rasters = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            book.refresh(EVENT, version)
            t1 = time.perf_counter()
            book._cache.clear()
            coverage = book.coverage(EVENT, version, prepared)
            rasters.append(time.perf_counter() - t1)
            reads.append(t1 - t0)
        assert coverage is not None and len(coverage.counted) == args.pointings, len(coverage.counted)
        ours_s = statistics.median(reads) + statistics.median(rasters)
        print(f"{args.pointings} pointings of a 4-CCD instrument: read {statistics.median(reads):.2f} s + "
              f"rasterize {statistics.median(rasters):.2f} s = {ours_s:.2f} s (median of {args.repeat}; target <= 2 s)")

        polygons = [np.asarray(p, float) for p in book.seen(EVENT)[1][INSTRUMENT]]
        order = fp.order_for(polygons)
        p_ra, p_dec = np.array([float(ra[j]) for j in pick]), np.array([float(dec[j]) for j in pick])
        t0 = time.perf_counter()
        reference = reference_union(polygons, p_ra, p_dec, pas, order)
        ref_s = time.perf_counter() - t0
        ours_area = coverage.completed[next(iter(coverage.completed))].area_deg2
        pixel_deg2 = 4 * np.pi * np.square(180 / np.pi) / (12 * 4 ** order)
        ref_area = len(reference) * pixel_deg2
        print(f"reference (Treasure Map's projection + healpy.query_polygon per CCD, order {order}): "
              f"{ref_s:.2f} s; ours rasterizes {ref_s / statistics.median(rasters):.1f}x faster")
        print(f"covered area: ours {ours_area:.1f} deg2, reference {ref_area:.1f} deg2 "
              f"(ratio {ours_area / ref_area:.3f})")

        plans = PlanBook(store, settings, maps, coverage=book)
        with_others, without = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            row, _ = plans.propose(EVENT, PlanRequest("lco", hours=24), None, None)
            with_others.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            plain, _ = plans.propose(EVENT, PlanRequest("lco", hours=24, ignore_others=True), None, None)
            without.append(time.perf_counter() - t0)
        others = row.summary["others"]
        print(f"/gw plan lco with coverage subtracted: median {statistics.median(with_others):.2f} s "
              f"(target < 3 s), --ignore-others {statistics.median(without):.2f} s "
              f"(ratio {statistics.median(with_others) / statistics.median(without):.2f})")
        print(f"  others already observed {others['completed_prob']:.1%} of the probability "
              f"({others['area90_fraction']:.0%} of the 90% area) with {others['n_pointings']} pointings; "
              f"the plan adds {row.summary['covered_prob']:.1%} new (its fields hold {row.summary['gross_prob']:.1%});"
              f" ignoring them, a plan's fields hold {plain.summary['covered_prob']:.1%}, of which new: "
              f"{plain.summary['covered_prob'] - _overlap(plain.summary, coverage, prepared):.1%}")
        store.close()


def _overlap(summary: dict, coverage, prepared) -> float:
    """Probability of a plan's fields that others had already covered (sampled finely)."""
    from bot.plans.planner import in_field

    ra, dec, prob = sample_points(prepared, 0.03)
    near = np.zeros(len(ra), bool)
    for f in summary["fields"]:
        near |= (np.abs(dec - f["dec_deg"]) < 1) & (np.abs((ra - f["ra_deg"] + 180) % 360 - 180) < 5)
    ra, dec, prob = ra[near], dec[near], prob[near]
    ours = np.zeros(len(ra), bool)
    for f in summary["fields"]:
        ours |= in_field(ra, dec, f["ra_deg"], f["dec_deg"], (0.4417, 0.4417))
    done = coverage.completed[next(iter(coverage.completed))].contains(ra, dec)
    return float(prob[ours & done].sum())


if __name__ == "__main__":
    main()
