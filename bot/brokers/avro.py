"""Schemaless Avro, read only as far as needed: a writer schema cut after the field holding the position reads
those first fields and stops, without walking the history arrays and the cutouts behind them. The reads run on
readers generated from the schema (:mod:`.avrocode`), fastavro where a schema needs it."""

from __future__ import annotations

import io
import logging
import struct
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import fastavro

from .avrocode import Projection, Reader, Unsupported, compile_reader
from .record import DecodeError

__all__ = ["ParsedSchemas", "SchemaCache", "read"]

log = logging.getLogger(__name__)


class ParsedSchemas:
    """A writer schema, parsed for three reads: ``quick`` (cut after the field named ``through``), ``detail``
    (cut after the field named ``detail``, or whole), and ``full``. The detail read projects the fields named in
    ``keep`` onto the listed subfields, so a long history costs a skip, not a dict per entry."""

    def __init__(self, schema: Any, through: str, detail: str | None = None,
                 keep: Projection | None = None) -> None:
        names = [f.get("name") for f in schema.get("fields", [])] if isinstance(schema, dict) else []
        if through not in names:
            raise DecodeError(f"the writer schema has no {through!r} field")

        def cut(name: str | None) -> dict[str, Any]:
            return {**schema, "fields": schema["fields"][:names.index(name) + 1]} if name in names else schema

        self.through = through
        try:
            self.quick = fastavro.parse_schema(cut(through), named_schemas={})
            self.full = fastavro.parse_schema(schema, named_schemas={})
            writer = cut(detail)
            self.detail = fastavro.parse_schema(writer, named_schemas={})
            self.detail_reader = (fastavro.parse_schema(_projected(writer, keep), named_schemas={})
                                  if keep else None)
        except Exception as exc:  # fastavro's SchemaParseException and the errors of malformed JSON shapes
            raise DecodeError(f"unusable writer schema: {type(exc).__name__}: {exc}") from None
        self._quick = _generated(schema, names.index(through) + 1)
        self._detail = _generated(schema, names.index(detail) + 1 if detail in names else None, keep)

    def read_quick(self, data: bytes | memoryview, offset: int = 0) -> dict[str, Any]:
        """The fields up to ``through``."""
        if self._quick is None:
            return read(self.quick, data, offset)
        return _run(self._quick, data, offset)

    def read_detail(self, data: bytes | memoryview, offset: int = 0) -> dict[str, Any]:
        """The fields up to ``detail``, projected by ``keep``."""
        if self._detail is None:
            return read(self.detail, data, offset, self.detail_reader)
        return _run(self._detail, data, offset)


def _generated(schema: dict[str, Any], fields: int | None, keep: Projection | None = None) -> Reader | None:
    """A generated reader, or None where the schema needs fastavro's."""
    try:
        return compile_reader(schema, fields, keep)
    except (Unsupported, SyntaxError, RecursionError) as exc:  # SyntaxError: nested deeper than Python allows
        log.info("Avro schema %s read by fastavro: %s", schema.get("name"), exc)
        return None


def _run(reader: Reader, data: bytes | memoryview, offset: int) -> dict[str, Any]:
    try:
        return reader(data, offset)
    except (EOFError, ValueError, IndexError, UnicodeDecodeError, struct.error) as exc:
        raise DecodeError(f"Avro value does not match its writer schema: {type(exc).__name__}: {exc}") from None


def _full_name(record: dict[str, Any], namespace: str | None) -> str:
    name = record["name"]
    ns = record.get("namespace", namespace)
    return name if "." in name or not ns else f"{ns}.{name}"


def _projected(schema: dict[str, Any], keep: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """A reader schema equal to ``schema`` except that each field named in ``keep`` (a record, or an array of
    records, possibly nullable) keeps only the listed fields of its records: Avro schema resolution skips the
    rest without building them."""
    namespace = schema.get("namespace")
    defined: dict[str, Any] = {}
    _register(schema, defined, namespace)

    def project(t: Any, names: tuple[str, ...], label: str) -> Any:
        if isinstance(t, list):
            return [project(x, names, label) for x in t]
        if isinstance(t, str) and t in defined:
            t = defined[t]
        if isinstance(t, dict) and t.get("type") == "array":
            return {"type": "array", "items": project(t["items"], names, label)}
        if isinstance(t, dict) and t.get("type") == "record":
            return {"type": "record", "name": f"{label}_projection", "namespace": "gwbot",
                    "aliases": [_full_name(t, namespace)], "fields": [f for f in t["fields"] if f["name"] in names]}
        return t

    return {**schema, "fields": [{**f, "type": project(f["type"], keep[f["name"]], f["name"])} if f["name"] in keep
                                 else f for f in schema["fields"]]}


def _register(t: Any, defined: dict[str, Any], ns: str | None) -> None:
    """Every named record a schema defines, by full name (a later field may refer to it by name)."""
    if isinstance(t, list):
        for x in t:
            _register(x, defined, ns)
    elif isinstance(t, dict):
        if t.get("type") == "record":
            defined[_full_name(t, ns)] = t
            for f in t["fields"]:
                _register(f["type"], defined, t.get("namespace", ns))
        elif t.get("type") == "array":
            _register(t["items"], defined, ns)


def read(schema: Any, data: bytes | memoryview, offset: int = 0, reader: Any = None) -> dict[str, Any]:
    """One schemaless record (projected onto ``reader`` when given); :class:`DecodeError` when the bytes do not
    fit the schema."""
    buf = io.BytesIO(data)
    buf.seek(offset)
    try:
        record = fastavro.schemaless_reader(buf, schema, reader)
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
