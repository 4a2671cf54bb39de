"""Upgrades that lose nothing: a database made by the previous release (gwbot 0.1.0, fixtures made by its own
code: ``tests/data/legacy/make_fixture.py``) is recognised and brought to the newest schema on SQLite and on
PostgreSQL with every row and the indexes it lacked; a new database gets the same schema the models declare;
processes starting together on one empty database upgrade it once and all come up."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import DATA
from pg import fresh_database, psql
from sqlalchemy import func, inspect, select, text

from bot.store import Base, Store, migrate
from bot.store.candidates import CandidateRecord
from bot.store.delivery import Delivery
from bot.store.events import Event
from bot.store.plans import PlanRecord

LEGACY = DATA / "legacy"


def drift(store: Store) -> list:
    """What the models declare and the database lacks (or has besides): nothing, after an upgrade."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        return compare_metadata(context, Base.metadata)


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name == migrate.JOBS_TABLE) and not (
        type_ == "index" and name == "ix_apscheduler_jobs_next_run_time")


def check_legacy_rows(store: Store) -> None:
    """Every row the 0.1.0 fixture holds is there, with its values; the index 0.1.0 never added is there."""
    expected = json.loads((LEGACY / "rows.json").read_text())
    with store.session() as s:
        for table, count in expected.items():
            assert s.scalar(select(func.count()).select_from(Base.metadata.tables[table])) == count, table
        pending = s.scalars(select(Delivery).where(Delivery.status == "pending")).one()
        assert pending.kind == "Upload" and pending.file == b"\x89PNG pending picture" and pending.attempts == 2
        assert pending.supersede_key is None and pending.depends_on is not None
        assert sorted(p.status for p in s.scalars(select(PlanRecord))) == ["proposed", "rejected", "submitted"]
        submitted = s.scalars(select(PlanRecord).where(PlanRecord.status == "submitted")).one()
        assert submitted.group_id == 1871234 and submitted.request_states == {"3601": "PENDING"}
        assert s.scalars(select(CandidateRecord)).one().marked_by == "U0MARKER"
        assert s.get_one(Event, "S240422ed").facts == {"area_90_deg2": 259.0, "hasns": 0.99}
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("candidates")}
    assert "ix_candidates_event_dec" in indexes
    assert migrate.current(store.engine) == migrate.head()
    assert drift(store) == []


def test_a_new_database_has_the_schema_the_models_declare(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'new.sqlite'}")
    assert migrate.current(store.engine) == migrate.head()
    assert drift(store) == []
    assert inspect(store.engine).has_table(migrate.JOBS_TABLE)
    assert not migrate.upgrade(store.engine).migrated  # already current: nothing to do, no lock taken
    store.close()


def test_a_database_made_by_gwbot_0_1_is_upgraded_with_every_row_on_sqlite(tmp_path):
    path = tmp_path / "gwbot.sqlite"
    shutil.copy(LEGACY / "gwbot-0.1.0.sqlite", path)
    probe = Store(f"sqlite:///{path}", upgrade=False)
    assert migrate.current(probe.engine) is None  # made before migrations
    assert "ix_candidates_event_dec" not in {i["name"] for i in inspect(probe.engine).get_indexes("candidates")}
    probe.close()
    store = Store(f"sqlite:///{path}")
    check_legacy_rows(store)
    store.close()


def _upgrade_at_once(url: str, n: int) -> list[subprocess.CompletedProcess]:
    """n processes run `gwbot db upgrade` on one database at the same moment."""
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "db", "upgrade", "--database", url],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(n)]
    return [subprocess.CompletedProcess(p.args, p.wait(120), p.communicate()[0]) for p in procs]


@pytest.mark.slow
def test_processes_starting_together_on_an_empty_sqlite_database_upgrade_it_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'together.sqlite'}"
    done = _upgrade_at_once(url, 4)
    assert [d.returncode for d in done] == [0] * 4, [d.stdout[-800:] for d in done]
    assert sum("was without migrations" in d.stdout for d in done) == 1, [d.stdout for d in done]
    store = Store(url)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    store.close()


@pytest.mark.slow
def test_a_database_made_by_gwbot_0_1_is_upgraded_with_every_row_on_postgres(postgres_url):
    url = fresh_database(postgres_url, "legacy")
    psql(url, LEGACY / "gwbot-0.1.0.postgres.sql")
    probe = Store(url, upgrade=False)
    assert migrate.current(probe.engine) is None
    probe.close()
    store = Store(url)
    check_legacy_rows(store)
    store.close()


@pytest.mark.slow
def test_processes_starting_together_on_an_empty_postgres_database_upgrade_it_once(postgres_url):
    url = fresh_database(postgres_url, "together")
    done = _upgrade_at_once(url, 4)
    assert [d.returncode for d in done] == [0] * 4, [d.stdout[-800:] for d in done]
    assert sum("was without migrations" in d.stdout for d in done) == 1, [d.stdout for d in done]
    store = Store(url)
    assert drift(store) == []
    store.close()


@pytest.mark.slow
def test_gwbot_db_current_says_where_a_database_stands(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(LEGACY / "gwbot-0.1.0.sqlite", path)
    run = [sys.executable, "-m", "bot.cli", "db"]
    before = subprocess.run([*run, "current", "--database", f"sqlite:///{path}"], capture_output=True, text=True)
    assert before.returncode == 0 and "behind" in before.stdout and "made before migrations" in before.stdout
    subprocess.run([*run, "upgrade", "--database", f"sqlite:///{path}"], check=True, capture_output=True)
    after = subprocess.run([*run, "current", "--database", f"sqlite:///{path}"], capture_output=True, text=True)
    assert after.stdout.strip() == f"{migrate.head()}: up to date"


def test_the_migrations_ship_in_the_package():
    versions = Path(migrate.MIGRATIONS) / "versions"
    assert {p.name for p in versions.glob("*.py")} >= {"0001_baseline.py", "0002_supersede_key.py"}
