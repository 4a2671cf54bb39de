"""The declarative base every owner's tables share, and the one helper their conditional UPDATEs use."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Base", "rows_changed"]


class Base(DeclarativeBase):
    pass


def rows_changed(result: Any) -> int:
    """How many rows an UPDATE changed (its rowcount): a conditional UPDATE that changed one row won the race."""
    return cast(CursorResult, result).rowcount
