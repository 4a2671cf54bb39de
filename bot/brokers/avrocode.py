"""Schemaless Avro readers generated from a writer schema: straight-line Python per record type that reads the
wanted fields and skips the others by their encoded size, without the per-field dispatch of a generic reader.

Why: an alert that falls in a GW region is read a second time for its history (Rubin: 20 or more earlier
``diaSource`` records of about 100 fields each, of which one time is needed). fastavro's schema-resolving skip
costs ~0.3 µs a field; the generated skip of a nullable float is two comparisons. Unsupported schemas raise
:class:`Unsupported` and the caller keeps fastavro.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

__all__ = ["Projection", "Reader", "Unsupported", "compile_reader"]

#: Per record field (by name) the subfields to keep; a field not named is read whole, one named with no subfields
#: is skipped.
Projection = dict[str, tuple[str, ...]]
Reader = Callable[[bytes | memoryview, int], dict[str, Any]]

_FIXED = {"float": 4, "double": 8}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class Unsupported(Exception):
    """A schema shape the generator does not handle (the caller falls back to fastavro)."""


def _varint(b: Any, p: int) -> tuple[int, int]:
    """A zigzag-encoded Avro int/long at ``p``: (value, next position)."""
    x = b[p]
    p += 1
    if x & 0x80:
        x &= 0x7F
        shift = 7
        while True:
            byte = b[p]
            p += 1
            x |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 63:
                raise ValueError("varint longer than 10 bytes")
    return (x >> 1) ^ -(x & 1), p


def _span(b: Any, p: int) -> tuple[int, int]:
    """A length prefix: (end of the data, start of the data), checked against the buffer."""
    n, p = _varint(b, p)
    if n < 0 or p + n > len(b):
        raise ValueError(f"length {n} runs past the end of the message")
    return p + n, p


class _Generator:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.named: dict[str, dict[str, Any]] = {}
        self.functions: dict[tuple[int, tuple[str, ...] | None, bool], str] = {}
        self.source: list[str] = []
        self.containers = 0
        self.consts: dict[str, Any] = {"_varint": _varint, "_span": _span,
                                       "_f": struct.Struct("<f").unpack_from, "_d": struct.Struct("<d").unpack_from}
        self._register(schema, schema.get("namespace"))

    def _register(self, t: Any, ns: str | None) -> None:
        if isinstance(t, list):
            for x in t:
                self._register(x, ns)
        elif isinstance(t, dict):
            kind = t.get("type")
            if kind in ("record", "enum", "fixed", "error"):
                name = t["name"]
                full = name if "." in name or not t.get("namespace", ns) else f"{t.get('namespace', ns)}.{name}"
                self.named[full] = t
                self.named.setdefault(name, t)
            if kind in ("record", "error"):
                for f in t["fields"]:
                    self._register(f["type"], t.get("namespace", ns))
            elif kind == "array":
                self._register(t["items"], ns)
            elif kind == "map":
                self._register(t["values"], ns)

    def resolve(self, t: Any) -> Any:
        if isinstance(t, str) and t not in _PRIMITIVES:
            if t not in self.named:
                raise Unsupported(f"unknown named type {t!r}")
            return self.named[t]
        if isinstance(t, dict) and "logicalType" in t:
            raise Unsupported("logical types")  # fastavro converts them (dates, decimals); so must the reader
        if isinstance(t, dict) and t.get("type") in _PRIMITIVES:
            return t["type"]
        return t

    # --- code ---------------------------------------------------------------------------------

    def record_function(self, t: dict[str, Any], keep: tuple[str, ...] | None, read: bool) -> str:
        """The name of a function ``(b, p) -> (dict, p)`` (``read``) or ``(b, p) -> p`` for record ``t``."""
        key = (id(t), keep, read)  # a named record resolves to its one definition: the same dict
        if key in self.functions:
            return self.functions[key]
        name = self.functions[key] = f"_{'r' if read else 's'}{len(self.functions)}"
        body: list[str] = []
        for f in t["fields"]:
            wanted = read and (keep is None or f["name"] in keep)
            if wanted:
                body += self.value(f["type"], "v", None)
                body.append(f"d[{f['name']!r}] = v")
            else:
                body += self.skip(f["type"])
        lines = [f"def {name}(b, p):", "    d = {}" if read else "    pass"]
        lines += ["    " + line for line in body]
        lines.append("    return d, p" if read else "    return p")
        self.source += lines
        return name

    def skip(self, t: Any) -> list[str]:
        if isinstance(t, dict) and "logicalType" in t:
            t = t["type"]  # skipped by its encoding: the underlying type's
        t = self.resolve(t)
        if isinstance(t, list):
            return self.union(t, lambda branch: self.skip(branch))
        if t == "null":
            return []
        if t == "boolean":
            return ["p += 1"]
        if isinstance(t, str) and t in _FIXED:
            return [f"p += {_FIXED[t]}"]
        if t in ("int", "long"):
            return ["_, p = _varint(b, p)"]
        if t in ("string", "bytes"):
            return ["p, _ = _span(b, p)"]
        kind = t.get("type")
        if kind == "fixed":
            return [f"p += {int(t['size'])}"]
        if kind == "enum":
            return ["_, p = _varint(b, p)"]
        if kind in ("record", "error"):
            return [f"p = {self.record_function(t, None, False)}(b, p)"]
        if kind in ("array", "map"):
            item = self.skip(t["items"] if kind == "array" else t["values"])
            if kind == "map":
                item = ["p, _ = _span(b, p)", *item]
            return ["n, p = _varint(b, p)", "while n:", "    if n < 0:",  # a block with its size: jump over it
                    "        end, p = _span(b, p)", "        p = end", "    else:",
                    "        for _ in range(n):", *["            " + x for x in item or ["pass"]],
                    "    n, p = _varint(b, p)"]
        raise Unsupported(f"type {kind!r}")

    def value(self, t: Any, var: str, keep: tuple[str, ...] | None) -> list[str]:
        t = self.resolve(t)
        if isinstance(t, list):
            return self.union(t, lambda branch: self.value(branch, var, keep))
        if t == "null":
            return [f"{var} = None"]
        if t == "boolean":
            return [f"{var} = b[p] != 0", "p += 1"]
        if isinstance(t, str) and t in _FIXED:
            fn = "_f" if t == "float" else "_d"
            return [f"{var} = {fn}(b, p)[0]", f"p += {_FIXED[t]}"]
        if t in ("int", "long"):
            return [f"{var}, p = _varint(b, p)"]
        if t == "string":
            return ["end, p = _span(b, p)", f"{var} = bytes(b[p:end]).decode()", "p = end"]
        if t == "bytes":
            return ["end, p = _span(b, p)", f"{var} = bytes(b[p:end])", "p = end"]
        kind = t.get("type")
        if kind == "fixed":
            size = int(t["size"])
            return [f"{var} = bytes(b[p:p + {size}])", f"p += {size}"]
        if kind == "enum":
            symbols = f"_e{len(self.consts)}"
            self.consts[symbols] = tuple(t["symbols"])
            return ["i, p = _varint(b, p)", f"if not 0 <= i < {len(t['symbols'])}:",
                    "    raise ValueError(f'enum index {i} out of range')", f"{var} = {symbols}[i]"]
        if kind in ("record", "error"):
            return [f"{var}, p = {self.record_function(t, keep, True)}(b, p)"]
        if kind in ("array", "map"):
            depth = self.containers = self.containers + 1  # nested containers get their own names
            items, item = f"c{depth}", f"x{depth}"
            read = self.value(t["items"] if kind == "array" else t["values"], item, keep)
            if kind == "array":
                start, add = f"{items} = []", f"{items}.append({item})"
            else:
                start, add = f"{items} = {{}}", f"{items}[k{depth}] = {item}"
                read = ["end, p = _span(b, p)", f"k{depth} = bytes(b[p:end]).decode()", "p = end", *read]
            return [start, "n, p = _varint(b, p)", "while n:", "    if n < 0:",
                    "        n = -n", "        _, p = _varint(b, p)",
                    "    for _ in range(n):", *["        " + x for x in read], f"        {add}",
                    "    n, p = _varint(b, p)", f"{var} = {items}"]
        raise Unsupported(f"type {kind!r}")

    def union(self, branches: list[Any], emit: Callable[[Any], list[str]]) -> list[str]:
        """A union's branch index is one zigzag byte for fewer than 64 branches; then that branch."""
        if len(branches) >= 64:
            raise Unsupported("union of 64 or more branches")
        lines = ["u = b[p]", "p += 1"]
        for i, branch in enumerate(branches):
            lines.append(f"{'if' if i == 0 else 'elif'} u == {2 * i}:")
            lines += ["    " + x for x in emit(branch) or ["pass"]]
        lines += ["else:", "    raise ValueError(f'union branch index {u} out of range')"]
        return lines


def compile_reader(schema: dict[str, Any], fields: int | None = None, keep: Projection | None = None) -> Reader:
    """A reader of the top-level record ``schema`` that stops after its first ``fields`` fields (all when None)
    and keeps only the subfields ``keep`` names of the fields it names. Raises :class:`Unsupported`."""
    if not isinstance(schema, dict) or schema.get("type") not in ("record", "error"):
        raise Unsupported("the top level is not a record")
    gen = _Generator(schema)
    keep = keep or {}
    body: list[str] = []
    for f in schema["fields"][:fields]:
        if keep.get(f["name"]) == ():
            body += gen.skip(f["type"])
            continue
        body += gen.value(f["type"], "v", keep.get(f["name"]))
        body.append(f"d[{f['name']!r}] = v")
    top = ["def _top(b, p):", "    d = {}", *["    " + line for line in body],
           "    if p > len(b):", "        raise EOFError('the message ends inside the record')", "    return d"]
    namespace = dict(gen.consts)
    exec(compile("\n".join(gen.source + top), f"<avro reader for {schema.get('name')}>", "exec"), namespace)
    return namespace["_top"]  # type: ignore[no-any-return]
