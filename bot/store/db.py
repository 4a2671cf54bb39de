"""A database handle: the engine, one transaction per unit of work, and retention.

Opening a :class:`Store` brings the database to the schema this release needs (:func:`bot.store.migrate.upgrade`,
under a lock, so replicas starting together upgrade once); ``migrate=False`` is for the ``gwbot db`` commands,
which say what they do themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, delete, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.brokers.record import unix_to_mjd
from bot.store import migrate
from bot.store.base import rows_changed
from bot.store.candidates import CandidateEvidence
from bot.store.delivery import Delivery
from bot.store.events import SkymapVersion, latest_map_query, map_filter

__all__ = ["Store", "engine_for"]


def engine_for(url: str) -> Engine:
    """An engine with the settings every gwbot process uses (SQLite: shared across threads, WAL, a 30 s wait)."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Store:
    """A database handle; each unit of work runs in :meth:`session` as one transaction."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.engine: Engine = engine_for(url)
        if upgrade:
            migrate.upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    def latest_skymap(self, event_id: str, kind: str = "gw") -> SkymapVersion | None:
        with self.session() as s:
            return s.scalars(latest_map_query(event_id, kind)).first()

    def prune(self, older_than: float) -> tuple[int, int]:
        """Delete map versions received before ``older_than`` (the latest of each event and kind stays) and
        finished deliveries, and drop candidates' stamps from alerts before it (their light curves stay); returns
        how many map versions and deliveries."""
        with self.session() as s:
            maps = 0
            pairs = {(e, k or "gw") for e, k in s.execute(select(SkymapVersion.event_id, SkymapVersion.kind))}
            for event_id, kind in sorted(pairs):
                keep = s.scalar(latest_map_query(event_id, kind).with_only_columns(SkymapVersion.id))
                maps += rows_changed(s.execute(delete(SkymapVersion).where(
                    map_filter(event_id, kind), SkymapVersion.id != keep, SkymapVersion.received < older_than)))
            old = select(Delivery.id).where(Delivery.status.in_(("done", "failed", "dropped")),
                                            Delivery.done_at < older_than)
            s.execute(update(Delivery).where(Delivery.depends_on.in_(old)).values(depends_on=None))
            deliveries = rows_changed(s.execute(delete(Delivery).where(Delivery.id.in_(old.scalar_subquery()))))
            s.execute(update(CandidateEvidence).where(CandidateEvidence.stamps_mjd < unix_to_mjd(older_than))
                      .values(science=None, template=None, difference=None, stamps_mjd=None))
        return maps, deliveries

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
