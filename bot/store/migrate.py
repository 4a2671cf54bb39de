"""Schema migrations with Alembic, taken under a lock so that replicas starting together upgrade once.

The migrations live in ``bot/store/migrations/versions`` and ship in the wheel. :func:`upgrade` brings a
database to the newest revision: an empty one is created, one made by gwbot 0.1 (before migrations: tables from
``create_all`` and hand-added columns, no ``alembic_version``) is recognised by the first revision and completed,
and apscheduler's job table is created in the same locked transaction, so no two processes race to create any
table. The lock is PostgreSQL's transaction-level advisory lock, or SQLite's own database lock
(``BEGIN EXCLUSIVE``); the others wait for it, then find the schema current and go on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

__all__ = ["JOBS_TABLE", "Upgrade", "config", "current", "head", "revision", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_KEY = 0x6777_626F_7464_62  # "gwbotdb": the advisory lock every gwbot process takes to migrate
JOBS_TABLE = "apscheduler_jobs"  # apscheduler's SQLAlchemyJobStore default


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no alembic.ini): the script folder and the connection to use."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision this release knows."""
    found = ScriptDirectory.from_config(config()).get_current_head()
    assert found is not None, "no migrations shipped"
    return found


def current(engine: Engine) -> str | None:
    """The revision the database has (None: empty, or made before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` found under the lock, and whether this process migrated (the others find it done)."""

    before: str | None
    after: str

    @property
    def migrated(self) -> bool:
        return self.before != self.after


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to :func:`head`. Cheap when already current: no lock is taken."""
    target = head()
    found = current(engine)
    if found == target and inspect(engine).has_table(JOBS_TABLE):
        return Upgrade(found, target)
    with _locked(engine) as conn:
        found = MigrationContext.configure(conn).get_current_revision()
        if found != target:
            log.info("upgrading the database schema from %s to %s", found or "none", target)
            command.upgrade(config(conn), "head")
        _create_jobs_table(conn)
    return Upgrade(found, target)


def revision(engine: Engine, message: str) -> None:
    """Write a new migration with what the models have and the database (at head) lacks, for a developer to
    read and complete: ``gwbot db revision "what changed"``."""
    with engine.connect() as conn:
        command.revision(config(conn), message=message, autogenerate=True)


def _create_jobs_table(conn: Connection) -> None:
    """apscheduler's job table, by apscheduler's own definition, inside the locked transaction."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    SQLAlchemyJobStore(engine=conn.engine).jobs_t.create(conn, checkfirst=True)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock until it commits."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield conn
        return
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        exclusive = _sqlite_exclusive(engine)
        try:
            with exclusive.connect() as conn, conn.begin():
                yield conn
        finally:
            exclusive.dispose()
        return
    with engine.connect() as conn, conn.begin():  # an in-memory database has one user
        yield conn


def _sqlite_exclusive(engine: Engine) -> Engine:
    """An engine whose transactions begin with ``BEGIN EXCLUSIVE``: the driver's own implicit transactions are
    off (they would commit DDL one statement at a time), so the whole migration is one transaction that holds
    the database's write lock (SQLAlchemy's documented pysqlite recipe)."""
    exclusive = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 120})

    @event.listens_for(exclusive, "connect")
    def _no_driver_transactions(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(exclusive, "begin")
    def _begin_exclusive(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN EXCLUSIVE")

    return exclusive
