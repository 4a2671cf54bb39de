"""Reading sky maps: multi-order, flat (NESTED/RING, gzipped), without distance, and broken payloads."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest
from astropy.table import Table
from conftest import ligo_read, skymap_bytes
from helpers import without_distance

from bot.skymap.io import SkymapError, read_skymap


def test_multiorder_matches_reference(map_file):
    ours = read_skymap(map_file)
    ref = ligo_read(map_file)
    ref = ref[np.argsort(ref["UNIQ"])]  # we keep pixels sorted by UNIQ; some files are not
    np.testing.assert_array_equal(ours.uniq, np.asarray(ref["UNIQ"]))
    np.testing.assert_array_equal(ours.probdensity, np.asarray(ref["PROBDENSITY"]))
    for name in ("DISTMU", "DISTSIGMA", "DISTNORM"):
        np.testing.assert_array_equal(getattr(ours, name.lower()), np.asarray(ref[name]))
    assert ours.meta["distmean"] == ref.meta["distmean"]


def test_reads_bytes_and_gzip_the_same(map_file):
    raw = map_file.read_bytes()
    a, b = read_skymap(raw), read_skymap(gzip.compress(raw))
    np.testing.assert_array_equal(a.uniq, b.uniq)
    np.testing.assert_array_equal(a.probdensity, b.probdensity)


def test_map_without_distance_is_normal(tmp_path):
    path = tmp_path / "burst.multiorder.fits"
    path.write_bytes(without_distance(skymap_bytes("MS181101ab-preliminary.avro")))
    skymap = read_skymap(path)
    assert not skymap.has_distance
    assert skymap.distmu is None and "distmean" not in skymap.meta
    assert len(skymap) == len(ligo_read(path))


@pytest.mark.slow  # a reference comparison (ligo.skymap)
@pytest.mark.parametrize("nest", [True, False])
def test_flat_map_matches_reference(tmp_path, nest):
    from ligo.skymap import moc as lmoc
    from ligo.skymap.io import write_sky_map

    ref_moc = ligo_read_bytes(tmp_path, skymap_bytes("MS181101ab-preliminary.avro"))
    flat = Table(lmoc.rasterize(ref_moc, order=7))
    flat["PROBDENSITY"] *= 4 * np.pi / len(flat)
    flat.rename_column("PROBDENSITY", "PROB")
    path = tmp_path / f"flat-{'nest' if nest else 'ring'}.fits.gz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_sky_map(str(path), flat, nest=nest)
    ours = read_skymap(path)
    ref = ligo_read(path)
    assert ours.has_distance
    order = np.argsort(np.asarray(ref["UNIQ"]))
    np.testing.assert_array_equal(ours.uniq, np.asarray(ref["UNIQ"])[order])
    np.testing.assert_allclose(ours.probdensity, np.asarray(ref["PROBDENSITY"])[order], rtol=1e-12)
    np.testing.assert_allclose(ours.distmu, np.asarray(ref["DISTMU"])[order], rtol=1e-12)


def ligo_read_bytes(tmp_path, data: bytes):
    path = tmp_path / "src.multiorder.fits"
    path.write_bytes(data)
    return ligo_read(path)


@pytest.mark.parametrize(
    "payload, message",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated"),
        (lambda raw: raw[:2000], "truncated"),
        (lambda raw: gzip.compress(raw)[:5000], "gzip"),
        (lambda raw: b"", "empty"),
        (lambda raw: b"<html>Not Found</html>", "not a FITS file"),
    ],
    ids=["half", "header-only", "gzip-cut", "empty", "html"],
)
def test_bad_payload_raises_one_clear_error(payload, message):
    raw = skymap_bytes("MS181101ab-preliminary.avro")
    with pytest.raises(SkymapError, match=message):
        read_skymap(payload(raw))
