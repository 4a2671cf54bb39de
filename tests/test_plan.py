"""Observation plans: tiling, visibility, the LCO request group against the local LCO portal, gwbot plan."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import data_file, skymap_bytes
from fakes.lco_server import FakeLCO
from matplotlib.path import Path as MplPath

import bot.plans
from bot.plans.facilities import builtin
from bot.plans.lco import LCOError, Portal, request_group
from bot.plans.planner import _altitude, _gmst_deg, _jd, band_layout, make_plan, sample_points, sun_moon, tile
from bot.skymap.io import read_skymap
from bot.skymap.prepared import prepare

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

START = datetime(2024, 11, 2, 13, 0, tzinfo=UTC)  # half an hour after S241102br


@pytest.fixture(scope="module")
def bbh():
    return prepare(read_skymap(skymap_bytes("S241102br-initial.json")))


def footprint_union(prepared, fields, fov, order: int = 12) -> float:
    """Probability inside the union of the fields' footprints, by testing fine points against each rectangle."""
    ra, dec, prob = sample_points(prepared, 0.6 * np.rad2deg(np.sqrt(np.pi / 3) / 2**order), level=0.9999)
    by_dec = np.argsort(dec)
    ra, dec, prob = ra[by_dec], dec[by_dec], prob[by_dec]
    inside = np.zeros(len(ra), dtype=bool)
    reach = np.hypot(*fov) / 2 + 0.01  # no point farther than the field's half-diagonal can be inside it
    for f in fields:
        lo, hi = np.searchsorted(dec, [f.dec - reach, f.dec + reach])  # only the points of the field's Dec band
        r, d = np.deg2rad(ra[lo:hi]), np.deg2rad(dec[lo:hi])
        r0, d0 = np.deg2rad(f.ra), np.deg2rad(f.dec)
        cos_c = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
        x = np.cos(d) * np.sin(r - r0) / cos_c
        y = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(r - r0)) / cos_c
        inside[lo:hi] |= (cos_c > 0) & (np.abs(np.rad2deg(x)) <= fov[0] / 2) & (np.abs(np.rad2deg(y)) <= fov[1] / 2)
    return float(prob[inside].sum())


def test_cells_partition_the_probability(bbh):
    cells = tile(bbh, (0.4417, 0.4417))
    _, _, prob = sample_points(bbh, 0.11)
    assert cells.prob.sum() == pytest.approx(prob.sum(), rel=1e-12)
    assert cells.prob.sum() == pytest.approx(bbh.cum_prob[np.searchsorted(bbh.cum_prob, 0.999)], abs=2e-3)
    assert np.all((cells.ra >= 0) & (cells.ra < 360) & (np.abs(cells.dec) <= 90))


def test_band_layout_cells_fit_inside_their_field():
    edges, n_ra = band_layout(6.86, 6.86)
    assert np.all(np.diff(edges) <= 6.86 + 1e-9)
    equatorward = np.where(edges[:-1] * edges[1:] <= 0, 0, np.minimum(abs(edges[:-1]), abs(edges[1:])))
    assert np.all(360.0 / n_ra * np.cos(np.deg2rad(equatorward)) <= 6.86 + 1e-9)


@pytest.mark.parametrize("facility", ["lco", "ztf"])
def test_reported_coverage_is_honest(bbh, facility):
    f = builtin()[facility]
    inst = f.instrument(None)
    plan = make_plan(bbh, f, inst, start=START, hours=24)
    assert plan.fields and plan.covered_prob > 0.05
    union = footprint_union(bbh, plan.fields, inst.fov_deg)
    # each cell lies inside its field's footprint, so the footprints hold at least what is claimed
    assert union >= plan.covered_prob - 0.002
    assert union <= plan.covered_prob * 1.5 + 0.01  # and the claim is not a gross underestimate either
    assert [x.rank for x in plan.fields] == list(range(1, len(plan.fields) + 1))
    assert all(a.slot.start <= b.slot.start for a, b in zip(plan.fields, plan.fields[1:], strict=False))  # a schedule


def test_sidereal_time_and_altitude_against_astropy():
    from astropy import units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time

    times = [START, datetime(2025, 6, 21, 3, 30, tzinfo=UTC)]
    site = builtin()["lco"].sites[3]  # lsc
    lst = (_gmst_deg(_jd(times)) + site.lon_deg) % 360
    ours = _altitude(np.array([83.63, 250.0]), np.array([22.01, -45.0]), lst, site.lat_deg)
    location = EarthLocation(lat=site.lat_deg * u.deg, lon=site.lon_deg * u.deg, height=site.elevation_m * u.m)
    for i, t in enumerate(times):
        frame = AltAz(obstime=Time(t), location=location, pressure=0 * u.hPa)
        ref = SkyCoord([83.63, 250.0] * u.deg, [22.01, -45.0] * u.deg).transform_to(frame).alt.deg
        np.testing.assert_allclose(ours[:, i], ref, atol=0.5)  # precession since J2000 is the difference


def test_sun_and_moon_positions_are_plausible():
    sun_ra, sun_dec, moon_ra, moon_dec = sun_moon([START])
    assert 215 < sun_ra[0] < 220 and -16 < sun_dec[0] < -13  # early November
    assert -30 < moon_dec[0] < 30


def test_fields_are_only_where_a_site_can_see_them(bbh):
    f = builtin()["lco"]
    plan = make_plan(bbh, f, f.instrument("sinistro"), start=START, hours=24)
    assert set(plan.seconds_per_site) <= {"coj", "cpt", "elp", "lsc", "tfn"}
    for field in plan.fields:
        start, end = field.slot.window
        assert START <= start <= field.slot.start < field.slot.end <= end <= START.replace(day=3, hour=13, minute=10)
    # north of Dec +30 nothing rises above airmass 2 at the southern sites (|lat| > 30°): only elp and tfn
    assert all(field.slot.site in ("elp", "tfn") for field in plan.fields if field.dec > 30)
    assert any(field.dec > 30 for field in plan.fields)


def test_plan_limits_and_filters(bbh):
    f = builtin()["lco"]
    plan = make_plan(bbh, f, f.instrument("1m"), start=START, hours=24, n_fields=5, filters=("gp", "rp"),
                     exposure_s=120)
    assert len(plan.fields) == 5 and plan.total_exposure_s == 5 * 2 * 120
    with pytest.raises(ValueError, match="has no filter g;"):
        make_plan(bbh, f, f.instrument("1m"), start=START, filters=("g",))


def test_ztf_plans_name_official_fields_and_count_only_what_its_ccds_see(bbh):
    """Fields are ZTF's own (ID and centre as in ztf_sim's ZTF_Fields.txt, read here independently of the
    planner), and the coverage is the union of the 16 CCDs of each, gaps left out: recomputed here by brute force
    on a fine sample of the map."""
    from bot.plans.planner import sample_points

    f = builtin()["ztf"]
    inst = f.instrument(None)
    official = {}
    text = (Path(bot.plans.__file__).parent / "data" / "ztf_fields.txt").read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fid, ra, dec = line.split()
            official[f"ZTF field {int(fid)}"] = (float(ra), float(dec))
    plan = make_plan(bbh, f, inst, start=START, hours=24)
    assert plan.fields
    for field in plan.fields:
        assert (field.ra, field.dec) == pytest.approx(official[field.name])
    ra, dec, prob = sample_points(bbh, 0.05)
    seen = np.zeros(len(ra), bool)
    ccds = {}  # each CCD as the quadrilateral of its measured corners, read here from ZTF's table (EW flipped)
    for line in (Path(bot.plans.__file__).parent / "data" / "ztf_ccd_layout.tbl").read_text().splitlines():
        if not line.startswith("#"):
            ew, ns, ccd = line.split(",")
            ccds.setdefault(ccd, []).append((-float(ew), float(ns)))
    ccds = {k: MplPath(v + v[:1]) for k, v in ccds.items()}
    assert len(ccds) == 16
    for field in plan.fields:
        r0, d0, r, d = np.deg2rad(field.ra), np.deg2rad(field.dec), np.deg2rad(ra), np.deg2rad(dec)
        cos_c = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
        x = np.rad2deg(np.cos(d) * np.sin(r - r0) / cos_c)
        y = np.rad2deg((np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(r - r0)) / cos_c)
        for ccd in ccds.values():
            seen |= (cos_c > 0) & ccd.contains_points(np.column_stack([x, y]))
    assert plan.covered_prob == pytest.approx(float(prob[seen].sum()), abs=0.01)
    extent = np.array([c.vertices for c in ccds.values()]).reshape(-1, 2)
    assert np.ptp(extent[:, 0]) < np.ptp(extent[:, 1])  # 7.29 deg east-west, 7.46 north-south: not turned by 90 deg
    assert plan.covered_prob > 0.9
    assert sum(f.prob for f in plan.fields) == pytest.approx(plan.covered_prob, rel=1e-9)  # marginal shares


def test_lco_request_group_is_valid_for_the_portal(bbh):
    f = builtin()["lco"]
    inst = f.instrument("sinistro")
    plan = make_plan(bbh, f, inst, start=START, hours=24, n_fields=3, filters=("gp", "rp"))
    group = request_group(plan, "S241102br", f, inst, "LCO2025B-001")
    assert len(group["name"]) <= 50 and group["operator"] == "MANY" and 0.5 <= group["ipp_value"] <= 2.0
    with FakeLCO() as lco:
        answer = Portal(lco.url, lco.token).validate(group)
        assert answer["errors"] == {} and len(answer["request_durations"]["requests"]) == 3
        single = request_group(make_plan(bbh, f, inst, start=START, n_fields=1), "S241102br", f, inst, "LCO2025B-001")
        assert single["operator"] == "SINGLE" and Portal(lco.url, lco.token).validate(single)["errors"] == {}
        bad = json.loads(json.dumps(group))
        bad["requests"][1]["configurations"][0]["instrument_configs"][0]["optical_elements"]["filter"] = "g"
        with pytest.raises(LCOError, match=r"requests\[1\]\.configurations\[0\]\.instrument_configs\[0\]"):
            Portal(lco.url, lco.token).submit(bad)
        with pytest.raises(LCOError, match="refused the credentials"):
            Portal(lco.url, "wrong-token").validate(group)
    with pytest.raises(LCOError, match="ipp_value"):
        request_group(plan, "S241102br", f, inst, "LCO2025B-001", ipp_value=3.0)


def test_gwbot_plan_command(tmp_path):
    with FakeLCO() as lco:
        env = {"PATH": "/usr/bin:/bin", "LCO_API_URL": lco.url, "LCO_API_TOKEN": lco.token,
               "LCO_PROPOSAL_ID": lco.proposal, "HOME": str(tmp_path)}
        png = tmp_path / "plan.png"
        proc = subprocess.run([sys.executable, "-m", "bot.cli", "plan", str(data_file("S241102br-initial.json")),
                               "lco", "sinistro", "--fields", "8", "--start", "2024-11-02T13:00:00Z", "--json",
                               "--filters", "rp", "--revisit", "gp", "--png", str(png)],
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["n_fields"] == 8 and result["validation"]["errors"] == {}
        firsts = {f["rank"]: f for f in result["fields"] if "revisit_of" not in f}
        again = [f for f in result["fields"] if "revisit_of" in f]
        assert len(firsts) == 8 and result["n_revisits"] == len(again) > 0 and result["revisit_gap_s"] == 1800
        for f in again:  # the same field, in the second filter, at least 30 minutes after the first visit ends
            first = firsts[f["revisit_of"]]
            assert (f["ra_deg"], f["dec_deg"], f["filter"], first["filter"], f["prob"]) == \
                (first["ra_deg"], first["dec_deg"], "gp", "rp", 0.0)
            assert datetime.fromisoformat(f["start"].replace("Z", "+00:00")) >= \
                datetime.fromisoformat(first["end"].replace("Z", "+00:00")) + timedelta(minutes=30)
        assert sorted(result["fields"][0]) == sorted(["rank", "ra_deg", "dec_deg", "prob", "site", "telescope",
                                                      "start", "end", "filter", "exposure_s"])
        assert result["validation_note"] == "validated by LCO" and lco.validations == 1
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert lco.token not in proc.stdout + proc.stderr
    bad = subprocess.run([sys.executable, "-m", "bot.cli", "plan", str(data_file("S241102br-initial.json")), "keck"],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert bad.returncode == 2 and "unknown facility 'keck'" in bad.stderr


def test_lco_instrument_list_is_refreshed_from_the_api(bbh):
    from fakes.lco_server import INSTRUMENTS

    from bot.plans.lco import refresh_instruments

    lco = builtin()["lco"]
    with FakeLCO() as portal:
        INSTRUMENTS["0M4-SCICAM-QHY600"]["optical_elements"]["filters"] = ["gp", "rp"]  # the portal's list changed
        try:
            catalogue = Portal(portal.url, "any").instruments()  # AllowAny, like the real endpoint
        finally:
            INSTRUMENTS["0M4-SCICAM-QHY600"]["optical_elements"]["filters"] = ["up", "gp", "rp", "ip", "zs", "B", "V",
                                                                               "w"]
    refreshed, changes = refresh_instruments(lco, catalogue)
    qhy = refreshed.instrument("qhy600")
    assert qhy.filters == ("gp", "rp") and qhy.fov_deg == pytest.approx((1.9684, 1.3131), abs=1e-3)
    assert refreshed.instrument("sinistro").fov_deg == pytest.approx((0.4426, 0.4426), abs=1e-3)
    assert any("0M4-SCICAM-QHY600" in c for c in changes)
    assert refreshed.instrument("qhy600").sites == lco.instrument("qhy600").sites


def generated_catalogue(path, bbh, seed: int = 3):
    """A small made-up catalogue: galaxies scattered over the region, and a group at the right place and distance."""
    rng = np.random.default_rng(seed)
    n = 3000
    ra = rng.uniform(335, 355, n)
    dec = rng.uniform(30, 50, n)
    dist = rng.uniform(20, 900, n)
    mode_ra, mode_dec = np.rad2deg(bbh.mode_ra), np.rad2deg(bbh.mode_dec)
    group_ra = mode_ra + rng.normal(0, 0.02, 5)
    group_dec = mode_dec + rng.normal(0, 0.02, 5)
    near_ra, near_dec = mode_ra + 0.3, mode_dec + 0.3  # right direction, wrong distance
    rows = [*zip(ra, dec, dist, strict=True), *((r, d, 354.0) for r, d in zip(group_ra, group_dec, strict=True)),
            (near_ra, near_dec, 30.0)]
    path.write_text("ra,dec,distance\n" + "\n".join(f"{r:.5f},{d:.5f},{x:.1f}" for r, d, x in rows))
    return (mode_ra, mode_dec), (near_ra, near_dec)


def test_galaxy_targeted_plan(bbh, tmp_path):
    from bot.ingest.files import load_catalogue
    from bot.plans.planner import in_field

    path = tmp_path / "galaxies.csv"
    (mode_ra, mode_dec), (near_ra, near_dec) = generated_catalogue(path, bbh)
    catalogue = load_catalogue(path)
    f = builtin()["lco"]
    inst = f.instrument("muscat")
    plan = make_plan(bbh, f, inst, start=START, hours=24, n_fields=10, galaxies=catalogue)
    assert any("galaxy-targeted" in n for n in plan.notes)
    # a field holds the group at the right place and distance (fields come in time order, not rank)
    assert any(in_field(np.array([mode_ra]), np.array([mode_dec]), x.ra, x.dec, inst.fov_deg)[0]
               for x in plan.fields)
    # the galaxy in the right direction but at 30 Mpc is not worth a field of its own
    assert not any(in_field(np.array([near_ra]), np.array([near_dec]), x.ra, x.dec, inst.fov_deg)[0]
                   for x in plan.fields[:3])
    union = footprint_union(bbh, plan.fields, inst.fov_deg)
    assert plan.covered_prob == pytest.approx(union, abs=0.002)


def test_galaxy_mode_falls_back_to_tiling(bbh, tmp_path):
    from bot.ingest.files import load_catalogue

    path = tmp_path / "galaxies.csv"
    generated_catalogue(path, bbh)
    f = builtin()["lco"]
    plan = make_plan(bbh, f, f.instrument("muscat"), start=START, galaxies=load_catalogue(path),
                     complete_to_mpc=100.0)
    assert any("complete to 100 Mpc" in n and "tiling instead" in n for n in plan.notes)
    tiled = make_plan(bbh, f, f.instrument("muscat"), start=START)
    assert [(x.ra, x.dec) for x in plan.fields] == [(x.ra, x.dec) for x in tiled.fields]


def test_muscat_plan_is_one_synchronous_exposure_per_field(bbh):
    f = builtin()["lco"]
    inst = f.instrument("muscat")
    plan = make_plan(bbh, f, inst, start=START, n_fields=4, exposure_s=180)
    assert plan.total_exposure_s == 4 * 180  # four channels at once, not four exposures
    group = request_group(plan, "S241102br", f, inst, "LCO2025B-001")
    config = group["requests"][0]["configurations"][0]["instrument_configs"]
    assert len(config) == 1 and config[0]["extra_params"]["exposure_time_z"] == 180
    with FakeLCO() as lco:
        assert Portal(lco.url, lco.token).validate(group)["errors"] == {}
        broken = json.loads(json.dumps(group))
        del broken["requests"][0]["configurations"][0]["instrument_configs"][0]["extra_params"]["exposure_time_g"]
        assert "exposure_time_g" in json.dumps(Portal(lco.url, lco.token).validate(broken)["errors"])
