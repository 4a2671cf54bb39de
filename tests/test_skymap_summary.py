"""Summary numbers against ligo-skymap-stats run on the same file, in the test."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy_healpix import HEALPix, uniq_to_level_ipix
from conftest import ligo_read

from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare
from bot.skymap.summary import distance_modulus, summarize

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'


def ligo_skymap_stats(path, tmp_path) -> dict[str, float]:
    """Run the ligo-skymap-stats tool in-process and read back its table."""
    from ligo.skymap.tool.ligo_skymap_stats import main

    out = tmp_path / "stats.tsv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main([str(path), "-o", str(out), "--contour", "50", "90", "-j", "1"])
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    names, values = lines[0].split("\t"), lines[1].split("\t")
    return {n: float(v) if v not in ("", "None") else float("nan") for n, v in zip(names[1:], values[1:], strict=True)}


def test_summary_agrees_with_ligo_skymap_stats(map_file, tmp_path):
    ref = ligo_skymap_stats(map_file, tmp_path)
    summary = summarize(prepare(read_skymap(map_file)))
    assert summary.area_50_deg2 == pytest.approx(ref["area(50)"], rel=0.005)
    assert summary.area_90_deg2 == pytest.approx(ref["area(90)"], rel=0.005)
    assert summary.distance_mean_mpc == ref["distmean"]
    assert summary.distance_std_mpc == ref["diststd"]
    assert summary.distance_modulus == pytest.approx(5 * np.log10(ref["distmean"] * 1e6 / 10))


def test_most_probable_position_is_the_densest_pixel(map_file):
    table = ligo_read(map_file)
    summary = summarize(prepare(read_skymap(map_file)))
    i = np.argmax(table["PROBDENSITY"])
    level, ipix = uniq_to_level_ipix(table["UNIQ"][i])
    lon, lat = HEALPix(nside=2 ** int(level), order="nested").healpix_to_lonlat(ipix)
    assert summary.ra_deg == pytest.approx(lon.deg, abs=1e-9)
    assert summary.dec_deg == pytest.approx(lat.deg, abs=1e-9)


def test_summary_counts_pixels_and_header_facts(map_file):
    skymap = read_skymap(map_file)
    summary = summarize(prepare(skymap))
    assert summary.npix == len(ligo_read(map_file))
    assert summary.area_50_deg2 < summary.area_90_deg2 < 41253


def test_distance_modulus_of_10_pc_is_zero():
    assert distance_modulus(1e-5) == pytest.approx(0.0, abs=1e-12)
    assert distance_modulus(100.0) == pytest.approx(35.0)
