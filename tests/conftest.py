"""Shared fixtures: the real alerts in tests/data and the reference implementation (ligo.skymap)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from bot.ingest.gwalert import parse_bytes

pytest_plugins = ["pg"]  # the postgres_url fixture

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parents[1] / "bot" / "samples"


def data_file(name: str) -> Path:
    """A test file: tests/data, or the demo samples in bot/samples (stored once)."""
    path = DATA / name
    return path if path.exists() else SAMPLES / name

#: GWBOT_POST_MAX_AGE for tests that post the bundled real alerts (created years ago): post them anyway.
OLD_ALERTS_TOO = "36500d"

#: Real alerts whose sky maps the tests compare against ligo.skymap.
MAP_ALERTS = ["MS181101ab-preliminary.avro", "S230518h_initial.json", "S250910b-earlywarning.json"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def skymap_bytes(name: str) -> bytes:
    return parse_bytes(data_file(name).read_bytes()).skymap


@pytest.fixture(scope="session", params=MAP_ALERTS)
def map_file(request, tmp_path_factory) -> Path:
    """A real multi-order sky map written to a FITS file, for both readers."""
    path = tmp_path_factory.mktemp("maps") / (request.param.split(".")[0] + ".multiorder.fits")
    path.write_bytes(skymap_bytes(request.param))
    return path


def ligo_read(path: Path):
    """The reference reader: ligo.skymap.io.read_sky_map(moc=True)."""
    from ligo.skymap.io import read_sky_map

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_sky_map(str(path), moc=True)
