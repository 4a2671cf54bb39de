"""The generated Avro readers (bot.brokers.avrocode) read exactly what fastavro reads, on every Avro type, and
turn bad bytes into DecodeError."""

from __future__ import annotations

import io
import json
import random

import fastavro
import pytest

from bot.brokers.avro import ParsedSchemas
from bot.brokers.avrocode import Unsupported, compile_reader
from bot.brokers.record import DecodeError

POINT = {"type": "record", "name": "Point", "fields": [
    {"name": "id", "type": "long"}, {"name": "t", "type": ["null", "double"]},
    {"name": "flag", "type": ["null", "boolean"]}, {"name": "note", "type": ["null", "string"]},
    {"name": "f", "type": "float"}]}

SCHEMA = {"type": "record", "name": "Alert", "namespace": "test.ns", "fields": [
    {"name": "alertId", "type": "long"},
    {"name": "band", "type": {"type": "enum", "name": "Band", "symbols": ["u", "g", "r", "i", "z", "y"]}},
    {"name": "source", "type": POINT},
    {"name": "history", "type": ["null", {"type": "array", "items": "Point"}]},
    {"name": "grid", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
    {"name": "tags", "type": {"type": "map", "values": ["null", "string", "long"]}},
    {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
    {"name": "nothing", "type": "null"},
    {"name": "cutout", "type": ["null", "bytes"]},
    {"name": "after", "type": ["null", "test.ns.Point"]},
]}


def point(rng: random.Random) -> dict:
    return {"id": rng.choice([0, -1, 63, -64, 2**40, -(2**62), rng.randrange(-2**63, 2**63)]),
            "t": rng.choice([None, rng.uniform(-1e9, 1e9)]), "flag": rng.choice([None, True, False]),
            "note": rng.choice([None, "", "é ☄ " * rng.randrange(40)]), "f": 1.5}


def record(rng: random.Random) -> dict:
    return {"alertId": rng.randrange(2**63), "band": rng.choice("ugrizy"), "source": point(rng),
            "history": rng.choice([None, [point(rng) for _ in range(rng.randrange(30))]]),
            "grid": [[rng.randrange(-300, 300) for _ in range(rng.randrange(4))] for _ in range(rng.randrange(3))],
            "tags": {f"k{i}": rng.choice([None, "v", rng.randrange(-9, 9)]) for i in range(rng.randrange(4))},
            "digest": bytes(rng.randrange(256) for _ in range(4)), "nothing": None,
            "cutout": rng.choice([None, rng.randbytes(rng.randrange(300))]),
            "after": rng.choice([None, point(rng)])}


def encode(schema, value) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema, named_schemas={}), value)
    return buf.getvalue()


def fastavro_read(writer, data: bytes, reader=None):
    return fastavro.schemaless_reader(io.BytesIO(data), fastavro.parse_schema(writer, named_schemas={}),
                                      fastavro.parse_schema(reader, named_schemas={}) if reader else None)


def test_every_type_reads_as_fastavro_reads_it():
    rng = random.Random(7)
    whole = compile_reader(SCHEMA)
    head = compile_reader(SCHEMA, fields=3)
    cut = {**SCHEMA, "fields": SCHEMA["fields"][:3]}
    for _ in range(300):
        value = record(rng)
        data = b"\x00" * 5 + encode(SCHEMA, value)
        assert whole(data, 5) == fastavro_read(SCHEMA, data[5:]) == value
        assert head(data, 5) == fastavro_read(cut, data[5:])


def test_projection_keeps_only_the_named_subfields_like_a_reader_schema():
    rng = random.Random(11)
    read = compile_reader(SCHEMA, fields=4, keep={"history": ("t",), "source": ("id", "note")})
    for _ in range(100):
        value = record(rng)
        out = read(encode(SCHEMA, value), 0)
        assert out["source"] == {"id": value["source"]["id"], "note": value["source"]["note"]}
        assert out["history"] == (None if value["history"] is None else [{"t": p["t"]} for p in value["history"]])
        assert set(out) == {"alertId", "band", "source", "history"}


def test_blocks_with_a_byte_size_are_read_and_skipped():
    """Avro lets a writer give a block's size with a negative count (fastavro's writer never does)."""
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "xs", "type": {"type": "array", "items": "long"}}, {"name": "after", "type": "string"}]}
    # block of -2 items, 2 bytes long: 1, 2 (zigzag 2, 4); then the end of the array; then "ok"
    data = bytes([3, 4, 2, 4, 0, 4]) + b"ok"
    assert compile_reader(schema)(data, 0) == fastavro_read(schema, data) == {"xs": [1, 2], "after": "ok"}
    outer = {"type": "record", "name": "Outer", "fields": [{"name": "inner", "type": schema}]}
    assert compile_reader(outer, keep={"inner": ("after",)})(data, 0) == {"inner": {"after": "ok"}}  # jumped over


def test_bad_bytes_are_decode_errors():
    schemas = ParsedSchemas(SCHEMA, "source", "history", keep={"history": ("t",)})
    data = encode(SCHEMA, record(random.Random(3)) | {"history": [point(random.Random(4))] * 5})
    assert schemas.read_detail(data)["history"][0]["t"] == point(random.Random(4))["t"]
    for broken in (data[:len(data) // 3], data[:12]):
        with pytest.raises(DecodeError, match="does not match"):
            schemas.read_detail(broken)
    with pytest.raises(DecodeError, match="union branch index"):
        schemas.read_quick(encode(SCHEMA, record(random.Random(3)))[:11] + b"\x7e" * 40)


def test_logical_types_are_left_to_fastavro():
    schema = {"type": "record", "name": "L", "fields": [
        {"name": "when", "type": {"type": "long", "logicalType": "timestamp-millis"}}, {"name": "x", "type": "int"}]}
    with pytest.raises(Unsupported):
        compile_reader(schema)
    schemas = ParsedSchemas(schema, "when")
    data = encode(schema, {"when": 1_700_000_000_000, "x": 1})
    assert schemas.read_quick(data) == fastavro_read({**schema, "fields": schema["fields"][:1]}, data)


def test_real_broker_schemas_read_whole_as_fastavro_reads_them():
    """Fink's ZTF schema and alerts (real) and its LSST schema read whole; each Rubin generation's peek and detail."""
    from fakes import broker_messages as bm

    from bot.brokers import rubin

    for alert in bm.fink_ztf_alerts()[:5]:
        key, value = bm.fink_ztf_message(alert)
        schema = json.loads(key)
        assert same(compile_reader(schema)(value, 0), fastavro_read(schema, value))
    key, value = bm.fink_lsst_message(bm.fink_lsst_alert(7, 20.0, -5.0, 60700.2, first_mjd=60699.0))
    assert same(compile_reader(json.loads(key))(value, 0), fastavro_read(json.loads(key), value))
    for version in ((3, 0), (7, 3), (9, 0), (11, 1)):
        value = bm.rubin_value(bm.rubin_alert(42, 33.0, -12.0, 60700.25, version=version, cutout_bytes=2000,
                                              history=3), version)
        schemas = rubin.schema_for(version[0] * 100 + version[1])
        assert schemas._quick is not None and schemas._detail is not None  # generated, not fastavro's
        assert same(schemas.read_quick(value, 5), fastavro.schemaless_reader(io.BytesIO(value[5:]), schemas.quick))
        assert same(schemas.read_detail(value, 5), fastavro.schemaless_reader(
            io.BytesIO(value[5:]), schemas.detail, schemas.detail_reader))


def same(a: dict, b: dict) -> bool:
    """Equal, NaN equal to NaN (real alerts carry NaN magnitudes)."""
    return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True, default=repr)
