"""A BSON decoder for ANTARES locus documents (bsonspec.org, version 1.1), so that no BSON package (pymongo's
and the standalone ``bson`` both install a top-level ``bson`` module, and clash) is needed to read one stream."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from .record import DecodeError

__all__ = ["loads"]

_INT32 = struct.Struct("<i")
_INT64 = struct.Struct("<q")
_UINT64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def loads(data: bytes) -> dict[str, Any]:
    """The document in ``data``; :class:`DecodeError` when it is not well-formed BSON."""
    try:
        value, end = _document(bytes(data), 0)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"not BSON: {exc}") from None
    if end != len(data):
        raise DecodeError(f"not BSON: {len(data) - end} bytes after the document")
    return value


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\x00", pos)
    return buf[pos:end].decode(), end + 1


def _document(buf: bytes, pos: int) -> tuple[dict[str, Any], int]:
    size = _INT32.unpack_from(buf, pos)[0]
    end = pos + size
    if size < 5 or end > len(buf) or buf[end - 1] != 0:
        raise ValueError(f"bad document length {size} at byte {pos}")
    pos += 4
    out: dict[str, Any] = {}
    while pos < end - 1:
        kind = buf[pos]
        name, pos = _cstring(buf, pos + 1)
        out[name], pos = _element(buf, kind, pos)
    return out, end


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    size = _INT32.unpack_from(buf, pos)[0]
    if size < 1 or buf[pos + 4 + size - 1] != 0:
        raise ValueError(f"bad string at byte {pos}")
    return buf[pos + 4:pos + 4 + size - 1].decode(), pos + 4 + size


def _element(buf: bytes, kind: int, pos: int) -> tuple[Any, int]:
    if kind == 0x01:
        return _DOUBLE.unpack_from(buf, pos)[0], pos + 8
    if kind in (0x02, 0x0D, 0x0E):  # string, JavaScript code, symbol
        return _string(buf, pos)
    if kind == 0x03:
        return _document(buf, pos)
    if kind == 0x04:
        doc, pos = _document(buf, pos)
        return list(doc.values()), pos
    if kind == 0x05:
        size = _INT32.unpack_from(buf, pos)[0]
        return buf[pos + 5:pos + 5 + size], pos + 5 + size
    if kind == 0x07:  # ObjectId
        return buf[pos:pos + 12].hex(), pos + 12
    if kind == 0x08:
        return buf[pos] != 0, pos + 1
    if kind == 0x09:
        return _EPOCH + timedelta(milliseconds=_INT64.unpack_from(buf, pos)[0]), pos + 8
    if kind in (0x06, 0x0A, 0x7F, 0xFF):  # undefined, null, max key, min key
        return None, pos
    if kind == 0x0B:  # regular expression: pattern and options
        pattern, pos = _cstring(buf, pos)
        _options, pos = _cstring(buf, pos)
        return pattern, pos
    if kind == 0x10:
        return _INT32.unpack_from(buf, pos)[0], pos + 4
    if kind == 0x11:
        return _UINT64.unpack_from(buf, pos)[0], pos + 8
    if kind == 0x12:
        return _INT64.unpack_from(buf, pos)[0], pos + 8
    if kind == 0x13:  # decimal128: kept as its bytes; no locus field uses it
        return buf[pos:pos + 16], pos + 16
    raise ValueError(f"unknown BSON element type 0x{kind:02x} at byte {pos}")
