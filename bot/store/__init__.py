"""The bot's memory, through SQLAlchemy: SQLite by default, PostgreSQL by URL, its schema kept by Alembic.

Tables are defined by the part of the bot that owns them: :mod:`~bot.store.events` (alerts, sky maps, summaries),
:mod:`~bot.store.delivery` (the outbox), :mod:`~bot.store.plans`, :mod:`~bot.store.candidates` and
:mod:`~bot.store.coordination` (Treasure Map and HERMES), :mod:`~bot.store.reporting` (GCN Circular drafts).
:class:`Store` is the handle; :mod:`~bot.store.migrate` keeps the schema.
"""

from bot.store import candidates, coordination, delivery, events, plans, reporting
from bot.store.base import Base, rows_changed
from bot.store.db import Store

__all__ = ["Base", "Store", "candidates", "coordination", "delivery", "events", "plans", "reporting", "rows_changed"]
