"""`gwbot skymap` and `gwbot check`: the JSON contract, human output and exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import data_file

from bot.cli import main

SKYMAP_KEYS = {"area_50_deg2", "area_90_deg2", "ra_deg", "dec_deg", "distance_mean_mpc", "distance_std_mpc", "npix"}
CHECK_KEYS = {"credible_level", "searched_area_deg2", "probdensity_per_deg2", "offset_deg", "distance_mean_mpc",
              "distance_std_mpc", "distance_credible_level", "probdensity_vol_per_mpc3", "verdict"}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_skymap_json_and_png(capsys, data_dir, tmp_path):
    png = tmp_path / "map.png"
    code, out, _ = run(capsys, "skymap", data_file("MS181101ab-preliminary.avro"), "--json", "--png", png)
    assert code == 0
    summary = json.loads(out)
    assert SKYMAP_KEYS <= summary.keys()
    assert summary["superevent_id"] == "MS181101ab" and summary["npix"] == 19200
    assert 30 < summary["area_90_deg2"] < 32
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_skymap_text_from_json_alert(capsys, data_dir):
    code, out, _ = run(capsys, "skymap", data_file("S230518h_initial.json"))
    assert code == 0
    assert out.startswith("S230518h (INITIAL)") and "90% area" in out and "Mpc" in out


def test_check_sexagesimal_equals_degrees(capsys, data_dir):
    alert = data_file("MS181101ab-update.json")
    _, out1, _ = run(capsys, "check", alert, "12:57:13.0", "-17:51:25", "--json")
    _, out2, _ = run(capsys, "check", alert, 194.304167, -17.856944, "--json")
    a, b = json.loads(out1), json.loads(out2)
    assert CHECK_KEYS <= a.keys()
    assert a["credible_level"] == b["credible_level"]
    assert a["distance_credible_level"] is None and a["probdensity_vol_per_mpc3"] is None


def test_check_with_distance_and_time(capsys, data_dir):
    code, out, _ = run(capsys, "check", data_file("MS181101ab-preliminary.avro"), 194.3, -17.8,
                       "--distance", 40, "--time", "2018-11-03T12:00:00Z", "--json")
    result = json.loads(out)
    assert code == 0
    assert 0 <= result["distance_credible_level"] < 0.5
    assert result["probdensity_vol_per_mpc3"] > 0
    assert result["verdict"].startswith("PLAUSIBLE: inside 50% region")
    assert result["verdict"].endswith("1.6 d after merger")


@pytest.mark.parametrize("argv, message", [
    (["check", "MS181101ab-preliminary.avro", "abc", "10"], "RA 'abc' is not understood"),
    (["check", "MS181101ab-preliminary.avro", "10", "95"], "outside -90..+90"),
    (["check", "MS181101ab-retraction.json", "10", "10"], "carries no sky map"),
    (["skymap", "SOURCES.md"], "not a FITS file"),
    (["skymap", "no-such-file.fits"], "cannot read"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, data_dir, argv, message):
    argv = [str(data_file(a)) if a.endswith((".avro", ".json", ".md", ".fits")) else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # a process of its own
def test_console_entry_point_runs(data_dir):
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "skymap", str(data_file("S230518h_initial.json")),
                           "--json"], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["superevent_id"] == "S230518h"


def test_the_gw_map_comes_first_and_the_combined_one_is_labelled(capsys, tmp_path):
    """A RAVEN alert: the top-level keys are the GW-only map's; ``combined`` has the same keys and the observatory."""
    from bot.ingest.files import load
    from bot.skymap.io import read_skymap
    from bot.skymap.prepared import prepare
    from bot.skymap.summary import summarize

    path = data_file("MS181101ab-ext-update.avro")
    source = load(path)
    gw_area = summarize(prepare(read_skymap(source.alert.skymap))).area_90_deg2
    code, out, _ = run(capsys, "skymap", path, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["area_90_deg2"] == pytest.approx(gw_area)
    combined = summary["combined"]
    assert SKYMAP_KEYS <= combined.keys() and combined["observatory"] == source.observatory
    assert combined["area_90_deg2"] != pytest.approx(gw_area)
    png = tmp_path / "combined.png"
    assert run(capsys, "skymap", path, "--map", "combined", "--png", png)[0] == 0 and png.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = run(capsys, "check", path, "345.0", "41.0", "--json")
    row = json.loads(out)
    assert code == 0 and 0 <= row["combined"]["credible_level"] <= 1 + 1e-9 and row["combined"]["observatory"]
    code, _, err = run(capsys, "skymap", data_file("S230518h_initial.json"), "--map", "combined", "--png", png)
    assert code == 2 and "no combined" in err
