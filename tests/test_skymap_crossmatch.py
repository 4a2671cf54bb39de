"""Cross-match against ligo.skymap.postprocess.crossmatch, computed in the test on the same maps."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from conftest import ligo_read

from bot.skymap import distance, moc
from bot.skymap.crossmatch import crossmatch, verdict, verdict_text
from bot.skymap.io import SkyMap, read_skymap
from bot.skymap.prepared import SR_TO_DEG2, prepare

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

# poles, both sides of RA = 0/360, and exactly on it
EDGE_RA = np.array([0.0, 359.999999, 360.0, 0.000001, 180.0, 45.0, 0.0, 359.9])
EDGE_DEC = np.array([90.0, -90.0, 0.0, -89.99999, 89.99999, -90.0, -45.0, 60.0])


def reference(path, ra, dec, dist=None):
    table = ligo_read(path)
    from ligo.skymap.postprocess.crossmatch import crossmatch as ligo_crossmatch

    coords = SkyCoord(ra * u.deg, dec * u.deg) if dist is None else SkyCoord(ra * u.deg, dec * u.deg, dist * u.Mpc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ligo_crossmatch(table, coords), table


def random_positions(n, seed):
    rng = np.random.default_rng(seed)
    ra = np.concatenate([rng.uniform(0, 360, n), EDGE_RA])
    dec = np.concatenate([np.rad2deg(np.arcsin(rng.uniform(-1, 1, n))), EDGE_DEC])
    return ra, dec


def test_2d_quantities_equal_reference(map_file):
    ra, dec = random_positions(3000, seed=1)
    ref, _ = reference(map_file, ra, dec)
    ours = crossmatch(prepare(read_skymap(map_file)), ra, dec)
    np.testing.assert_allclose(ours.credible_level, ref.searched_prob, rtol=1e-9)
    np.testing.assert_allclose(ours.searched_area_deg2, ref.searched_area, rtol=1e-9)
    np.testing.assert_allclose(ours.probdensity_per_sr, ref.probdensity, rtol=1e-9)
    np.testing.assert_allclose(ours.probdensity_per_deg2, ref.probdensity / SR_TO_DEG2, rtol=1e-9)
    np.testing.assert_allclose(ours.offset_deg, ref.offset, rtol=1e-7, atol=1e-6)


def inside_90(prepared, n, seed):
    """Pixel centres drawn from the 90% credible region."""
    rng = np.random.default_rng(seed)
    k = int(np.searchsorted(prepared.cum_prob, 0.9))
    order, ipix = moc.uniq_to_order_ipix(prepared.uniq[rng.integers(0, k, n)])
    ra, dec = moc.nested_to_lonlat(order, ipix)
    return np.rad2deg(ra), np.rad2deg(dec)


def test_3d_density_equals_reference_on_its_distance_grid(map_file):
    prepared = prepare(read_skymap(map_file))
    ra, dec = inside_90(prepared, 400, seed=2)
    mean = crossmatch(prepared, ra, dec).distance_mean_mpc
    # ligo.skymap evaluates the density at the grid point below the distance: r = k * 6 * distmean / 1000
    skymap = prepared.skymap
    prob = skymap.probdensity * moc.pixel_area_sr(moc.uniq_to_order_ipix(skymap.uniq)[0])
    step = 6 * distance.marginal_moments(prob, skymap.distmu, skymap.distsigma)[0] / 1000
    grid_dist = step * np.round(mean * np.random.default_rng(3).uniform(0.6, 1.4, len(mean)) / step)
    ref, _ = reference(map_file, ra, dec, grid_dist + 1e-9 * step)
    ours = crossmatch(prepared, ra, dec, grid_dist)
    np.testing.assert_allclose(ours.probdensity_vol_per_mpc3, ref.probdensity_vol, rtol=1e-9)


def test_3d_density_off_grid_equals_reference(map_file):
    """Any distance, one at a time (as /gw check asks) and all at once (a CSV): the reference's own number."""
    prepared = prepare(read_skymap(map_file))
    ra, dec = inside_90(prepared, 400, seed=4)
    mean = crossmatch(prepared, ra, dec).distance_mean_mpc
    dist = mean * np.random.default_rng(5).uniform(0.5, 1.6, len(mean))
    ref, _ = reference(map_file, ra, dec, dist)
    np.testing.assert_allclose(crossmatch(prepared, ra, dec, dist).probdensity_vol_per_mpc3, ref.probdensity_vol,
                               rtol=1e-3)
    for i in range(0, len(ra), 200):
        one, _ = reference(map_file, ra[i:i + 1], dec[i:i + 1], dist[i:i + 1])
        ours = crossmatch(prepared, ra[i], dec[i], dist[i]).probdensity_vol_per_mpc3
        np.testing.assert_allclose(ours, one.probdensity_vol, rtol=1e-3)


def test_3d_density_is_zero_where_the_reference_says_zero(map_file):
    """Far outside the distance posterior, and in pixels whose distance parameters are not finite: 0, not null."""
    prepared = prepare(read_skymap(map_file))
    ra, dec = inside_90(prepared, 50, seed=6)
    far = np.full(len(ra), 1e6)
    ref, _ = reference(map_file, ra, dec, far)
    ours = crossmatch(prepared, ra, dec, far).probdensity_vol_per_mpc3
    assert np.all(ref.probdensity_vol == 0) and np.all(ours == 0)
    bad = replace(prepared, distmu=np.where(np.arange(len(prepared.distmu)) % 2 == 0, np.inf, prepared.distmu))
    result = crossmatch(bad, ra, dec, 100.0).probdensity_vol_per_mpc3
    assert np.all(np.isfinite(result)) and np.all(result >= 0)


def test_direction_moments_and_cdf_match_reference(map_file):
    from ligo.skymap import distance as ligo_distance

    table = ligo_read(map_file)
    mu, sigma, norm = (np.asarray(table[c], dtype=float) for c in ("DISTMU", "DISTSIGMA", "DISTNORM"))
    # where DISTMU/DISTSIGMA < -3 the reference's recurrence cancels (see the next test)
    good = np.isfinite(mu) & (mu / sigma > -3)
    ref_mean, ref_std, ref_norm = ligo_distance.parameters_to_moments(mu[good], sigma[good])
    mean, std, our_norm = distance.moments(mu[good], sigma[good])
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-9)
    np.testing.assert_allclose(std, ref_std, rtol=1e-8)
    np.testing.assert_allclose(our_norm, ref_norm, rtol=1e-9)
    r = ref_mean * 0.8
    np.testing.assert_allclose(distance.conditional_cdf(r, mu[good], sigma[good]),
                               ligo_distance.conditional_cdf(r, mu[good], sigma[good], norm[good]), atol=1e-7)


@pytest.mark.parametrize("mu, sigma", [(-4915.581016332441, 302.0465328060123), (-100.0, 30.0), (-500.0, 40.0)])
def test_far_tail_moments_against_50_digit_arithmetic(mu, sigma):
    """Real maps hold pixels with DISTMU far below zero (S230518h: mu/sigma = -16)."""
    import mpmath as mp

    mp.mp.dps = 50
    x = mp.mpf(mu) / mp.mpf(sigma)
    j0 = mp.ncdf(x)
    j1 = x * j0 + mp.npdf(x)
    j2 = x * j1 + j0
    j3 = x * j2 + 2 * j1
    j4 = x * j3 + 3 * j2
    mean, std, norm = distance.moments(np.array([mu]), np.array([sigma]))
    assert mean[0] == pytest.approx(float(sigma * j3 / j2), rel=1e-10)
    assert std[0] == pytest.approx(float(sigma * mp.sqrt(j4 / j2 - (j3 / j2) ** 2)), rel=1e-8)
    assert norm[0] == pytest.approx(float(1 / (sigma**2 * j2)), rel=1e-10)


def test_map_without_distance_gives_null_distance_fields():
    rng = np.random.default_rng(0)
    order = 3
    ipix = np.arange(12 * 4**order)
    dens = rng.uniform(0, 1, len(ipix))
    dens /= np.sum(dens * moc.pixel_area_sr(order))
    result = crossmatch(prepare(SkyMap(moc.order_ipix_to_uniq(order, ipix), dens)), [10.0, 200.0], [5.0, -80.0], 50.0)
    assert np.all(np.isnan(result.distance_mean_mpc))
    assert np.all(np.isnan(result.probdensity_vol_per_mpc3))
    assert np.all((result.credible_level > 0) & (result.credible_level <= 1 + 1e-12))


def test_one_and_many_positions_agree(map_file):
    prepared = prepare(read_skymap(map_file))
    ra, dec = random_positions(50, seed=6)
    many = crossmatch(prepared, ra, dec, 100.0)
    for i in (0, 17, len(ra) - 1):
        one = crossmatch(prepared, ra[i], dec[i], 100.0)
        assert one.credible_level[0] == many.credible_level[i]
        assert one.distance_credible_level[0] == pytest.approx(many.distance_credible_level[i], nan_ok=True)


def test_verdict_explains_itself():
    merger = datetime(2023, 5, 18, 12, 59, tzinfo=UTC)
    label, reasons = verdict(0.72, 0.6, merger + timedelta(days=2.3), merger)
    assert label == "plausible"
    assert verdict_text(label, reasons) == (
        "PLAUSIBLE: inside 90% region (CL 0.72), distance consistent (0.8σ), 2.3 d after merger")
    label, reasons = verdict(0.3, None, merger - timedelta(hours=5), merger)
    assert label == "excluded" and "BEFORE the merger" in reasons[-1]
    assert verdict(0.95)[0] == "unlikely"
    assert verdict(0.9995)[0] == "excluded"
    assert verdict(0.2, 0.999)[0] == "excluded"
