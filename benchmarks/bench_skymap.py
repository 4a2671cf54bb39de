"""Skymap core against ligo.skymap, measured in the same run (ratios are what to quote).

    python benchmarks/bench_skymap.py [--repeat 5]

Summary: read + rank + summarize from the alert's bytes vs ligo-skymap-stats' per-file work
(``process``) run in-process. Picture: render_png from bytes vs ligo-skymap-plot in-process.
Cross-match: prepare, 1e6 positions with distance, one position, peak memory; vs
ligo.skymap.postprocess.crossmatch on the same map.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ingest.gwalert import parse_bytes  # noqa: E402
from bot.skymap.crossmatch import crossmatch  # noqa: E402
from bot.skymap.io import read_skymap  # noqa: E402
from bot.skymap.prepared import prepare  # noqa: E402
from bot.skymap.render import labels_for, render_png  # noqa: E402
from bot.skymap.summary import summarize  # noqa: E402

ALERTS = ["MS181101ab-preliminary.avro", "S230518h_initial.json", "S250910b-earlywarning.json"]


def data_path(name: str) -> Path:
    path = ROOT / "tests" / "data" / name
    return path if path.exists() else ROOT / "bot" / "samples" / name


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def peak_bytes(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--positions", type=int, default=1_000_000, help="positions cross-matched at once")
    p.add_argument("--reference-positions", type=int, default=10_000, help="of them, cross-matched by ligo.skymap too")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    from ligo.skymap.io import read_sky_map
    from ligo.skymap.postprocess.crossmatch import crossmatch as ligo_crossmatch
    from ligo.skymap.tool import ligo_skymap_plot, ligo_skymap_stats

    tmp = Path(tempfile.mkdtemp())
    maps = {}
    for name in ALERTS:
        data = parse_bytes(data_path(name).read_bytes()).skymap
        path = tmp / (name.split(".")[0] + ".multiorder.fits")
        path.write_bytes(data)
        maps[name] = (data, path)

    print("== summary from bytes (typical maps, ~17-19k pixels)")
    for name, (data, path) in maps.items():
        ours = timed(lambda data=data: summarize(prepare(read_skymap(data))), args.repeat * 4)
        ref = timed(lambda path=path: ligo_skymap_stats.process(str(path), None, [50, 90], False, [], False),
                    max(2, args.repeat // 2))
        o, r = statistics.median(ours), statistics.median(ref)
        print(f"{name:32s} ours {1e3 * o:7.1f} ms   ligo-skymap-stats {1e3 * r:8.1f} ms   speed-up x{r / o:.0f}")

    print("== picture (PNG), from bytes")
    ours_all, ref_all = [], []
    for name, (data, path) in maps.items():
        event_id = name.split("-")[0]

        def ours_png(data=data, event_id=event_id):
            prepared = prepare(read_skymap(data))
            return render_png(prepared, labels_for(summarize(prepared), event_id, None))
        ours_all += timed(ours_png, args.repeat)
        out = tmp / "ref.png"
        ref_all += timed(lambda path=path, out=out: ligo_skymap_plot.main(
            [str(path), "-o", str(out), "--annotate", "--contour", "50", "90"]), max(2, args.repeat // 2))
    o, r = statistics.median(ours_all), statistics.median(ref_all)
    print(f"in-process: median ours {o:.3f} s   ligo-skymap-plot {r:.3f} s   ratio ours/ref {o / r:.3f}")
    # whole commands, as a person runs them (start-up and imports included)
    bindir = Path(sys.executable).parent
    alert = data_path(ALERTS[0])
    cmd_ours = timed(lambda: subprocess.run([str(bindir / "gwbot"), "skymap", str(alert), "--png", str(tmp / "o.png")],
                                            check=True, capture_output=True), args.repeat)
    cmd_ref = timed(lambda: subprocess.run([str(bindir / "ligo-skymap-plot"), str(maps[ALERTS[0]][1]), "-o",
                                            str(tmp / "r.png"), "--annotate", "--contour", "50", "90"],
                                           check=True, capture_output=True), args.repeat)
    print(f"as commands: gwbot skymap --png {statistics.median(cmd_ours):.2f} s   ligo-skymap-plot "
          f"{statistics.median(cmd_ref):.2f} s   ratio {statistics.median(cmd_ours) / statistics.median(cmd_ref):.2f}")

    print("== cross-match (MS181101ab map, with distance)")
    data, path = maps[ALERTS[0]]
    skymap = read_skymap(data)
    prep_times = timed(lambda: prepare(skymap), args.repeat * 10)
    prepared = prepare(skymap)
    rng = np.random.default_rng(0)
    n = args.positions
    ra, dec = rng.uniform(0, 360, n), np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    dist = rng.uniform(10, 100, n)
    bulk = timed(lambda: crossmatch(prepared, ra, dec, dist), args.repeat)
    one = timed(lambda: crossmatch(prepared, 194.3, -17.8, 40.0), 200)
    our_peak = peak_bytes(lambda: crossmatch(prepared, ra, dec, dist))
    table = read_sky_map(str(path), moc=True)
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    m = min(args.reference_positions, n)
    coords = SkyCoord(ra[:m] * u.deg, dec[:m] * u.deg, dist[:m] * u.Mpc)
    ref_times = timed(lambda: ligo_crossmatch(table, coords), 2)
    ref_peak = peak_bytes(lambda: ligo_crossmatch(table, coords))
    ours_small = timed(lambda: crossmatch(prepared, ra[:m], dec[:m], dist[:m]), args.repeat)
    print(f"prepare: median {1e3 * statistics.median(prep_times):.2f} ms")
    print(f"{n:.0e} positions with distance: median {statistics.median(bulk):.3f} s = "
          f"{n / statistics.median(bulk) / 1e6:.2f} M positions/s (one core); peak memory {our_peak / 2**20:.0f} MiB")
    print(f"one position: median {1e3 * statistics.median(one):.3f} ms")
    print(f"{m:.0e} positions: ours {1e3 * statistics.median(ours_small):.1f} ms, ligo crossmatch "
          f"{statistics.median(ref_times):.2f} s (x{statistics.median(ref_times) / statistics.median(ours_small):.0f});"
          f" ligo peak memory {ref_peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
