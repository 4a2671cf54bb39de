"""The picture: valid PNG, right size, the credible region inside the zoom, large and tiny maps."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib import image

from bot.skymap import moc
from bot.skymap.crossmatch import angular_separation
from bot.skymap.io import SkyMap, read_skymap
from bot.skymap.prepared import prepare
from bot.skymap.render import Labels, labels_for, render_png, zoom_region
from bot.skymap.summary import summarize


def gaussian_map(ra_deg: float, dec_deg: float, width_deg: float, order: int = 9) -> SkyMap:
    """A synthetic single-blob map (for the tiny and wrap-around cases)."""
    ipix = np.arange(12 * 4**order)
    ra, dec = moc.nested_to_lonlat(order, ipix)
    sep = np.rad2deg(angular_separation(ra, dec, np.deg2rad(ra_deg), np.deg2rad(dec_deg)))
    dens = np.exp(-0.5 * (sep / width_deg) ** 2) + 1e-300
    dens /= np.sum(dens * moc.pixel_area_sr(order))
    return SkyMap(moc.order_ipix_to_uniq(order, ipix), dens)


def decode(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return image.imread(io.BytesIO(png), format="png")


def test_zoom_holds_the_90_percent_region(map_file):
    prepared = prepare(read_skymap(map_file))
    ra0, dec0, radius = zoom_region(prepared)
    k = int(np.searchsorted(prepared.cum_prob, 0.9)) + 1
    order, ipix = moc.uniq_to_order_ipix(prepared.uniq[:k])
    ra, dec = moc.nested_to_lonlat(order, ipix)
    assert np.all(angular_separation(ra, dec, ra0, dec0) <= radius)


@pytest.mark.parametrize("where", [(359.7, -45.0), (120.0, 89.5), (10.0, 0.0)], ids=["ra-wrap", "pole", "plain"])
def test_tiny_map_is_drawn_and_zoomed(where):
    prepared = prepare(gaussian_map(*where, width_deg=0.5))
    summary = summarize(prepared)
    assert summary.area_90_deg2 < 10
    _, _, radius = zoom_region(prepared)
    assert np.rad2deg(radius) < 5
    pixels = decode(render_png(prepared, labels_for(summary, "S000000a", "TEST")))
    assert pixels.shape[:2] == (460, 1000)
    # the zoom panel (right third) shows the dark core of the blob
    right = pixels[:, 700:, :3]
    assert np.any((right[..., 0] > 0.4) & (right[..., 1] < 0.2) & (right[..., 2] < 0.2))


def test_real_map_png(map_file):
    prepared = prepare(read_skymap(map_file))
    pixels = decode(render_png(prepared, Labels("S250910b · EARLYWARNING", "90%: 9,574 deg²")))
    assert pixels.shape[:2] == (460, 1000)
    left = pixels[100:420, :640, :3]
    assert np.any(left.sum(axis=-1) < 0.3)  # contour lines are drawn
    assert np.mean(left.sum(axis=-1) > 2.9) > 0.3  # and most of the sky is white, not filled


def test_labels_name_event_area_and_distance(map_file):
    summary = summarize(prepare(read_skymap(map_file)))
    labels = labels_for(summary, "S230518h", "INITIAL")
    assert labels.title == "S230518h · INITIAL"
    assert "90%:" in labels.subtitle and "deg²" in labels.subtitle and "Mpc" in labels.subtitle
