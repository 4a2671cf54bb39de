"""Schemaless Avro, read only as far as needed: a writer schema cut after the field holding the position reads
those first fields and stops, without walking the history arrays and the cutouts behind them."""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import fastavro

from .record import DecodeError

__all__ = ["ParsedSchemas", "SchemaCache", "read"]


class ParsedSchemas:
    """A writer schema parsed twice: whole, and cut after the field named ``through``."""

    def __init__(self, schema: Any, through: str) -> None:
        names = [f.get("name") for f in schema.get("fields", [])] if isinstance(schema, dict) else []
        if through not in names:
            raise DecodeError(f"the writer schema has no {through!r} field")
        cut = {**schema, "fields": schema["fields"][:names.index(through) + 1]}
        self.through = through
        try:
            self.quick = fastavro.parse_schema(cut, named_schemas={})
            self.full = fastavro.parse_schema(schema, named_schemas={})
        except Exception as exc:  # fastavro's SchemaParseException and the errors of malformed JSON shapes
            raise DecodeError(f"unusable writer schema: {type(exc).__name__}: {exc}") from None


def read(schema: Any, data: bytes | memoryview, offset: int = 0) -> dict[str, Any]:
    """One schemaless record; :class:`DecodeError` when the bytes do not fit the schema."""
    buf = io.BytesIO(data)
    buf.seek(offset)
    try:
        record = fastavro.schemaless_reader(buf, schema, None)
    except (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, OverflowError) as exc:
        raise DecodeError(f"Avro value does not match its writer schema: {type(exc).__name__}: {exc}") from None
    if not isinstance(record, dict):
        raise DecodeError("the writer schema is not a record")
    return record


class SchemaCache:
    """Parsed schemas by key (a schema id, or a digest of the schema's text), each parsed once; bounded."""

    def __init__(self, make: Callable[[Any], ParsedSchemas], size: int = 32) -> None:
        self._make = make
        self._size = size
        self._parsed: OrderedDict[Hashable, ParsedSchemas] = OrderedDict()

    def get(self, key: Hashable, source: Any) -> ParsedSchemas:
        """The schemas under ``key``, made from ``source`` the first time."""
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = self._make(source)
            while len(self._parsed) > self._size:
                self._parsed.popitem(last=False)
        return parsed
