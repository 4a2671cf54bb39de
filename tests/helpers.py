"""Helpers for the end-to-end tests: alerts made from the real samples, waiting for conditions."""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

import fastavro
from conftest import data_file

from bot.ingest.gwalert import read_avro


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition",
             alive: Sequence[subprocess.Popen] = ()) -> object:
    """Poll until ``condition`` holds; fail at once when a process in ``alive`` has died (never wait out the
    timeout for a process that is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        dead = [p for p in alive if p.poll() is not None]
        if dead:
            raise AssertionError(f"{', '.join(f'process {p.pid} exited {p.returncode}' for p in dead)} "
                                 f"while waiting for {what}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def avro_record(name: str) -> dict:
    return read_avro(data_file(name).read_bytes())


def avro_bytes(record: dict) -> bytes:
    """Re-encode a record with the schema of the real Hopskotch sample."""
    with open(data_file("MS181101ab-preliminary.avro"), "rb") as fh:
        schema = fastavro.reader(fh).writer_schema
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [record])
    return buf.getvalue()


def variant(name: str, superevent_id: str, alert_type: str | None = None, significant: bool | None = None,
            created: str | None = None) -> dict:
    """A copy of a real alert under another superevent ID (for tests needing many distinct alerts)."""
    record = avro_record(name) if name.endswith(".avro") else json.loads(data_file(name).read_bytes())
    record["superevent_id"] = superevent_id
    if alert_type:
        record["alert_type"] = alert_type
    if created:
        record["time_created"] = created
    if significant is not None and record.get("event"):
        record["event"]["significant"] = significant
    return record


def json_bytes(record: dict) -> bytes:
    record = json.loads(json.dumps(record, default=lambda b: base64.b64encode(b).decode()))
    return json.dumps(record).encode()


class TcpProxy:
    """A loopback TCP relay that can be cut and restored: a network outage between the bot and its broker."""

    def __init__(self, target_port: int, port: int) -> None:
        self.target_port, self.port = target_port, port
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []

    def start(self) -> TcpProxy:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server:
            self._server.close()
            self._server = None
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass
        self._conns = []


def without_distance(fits_bytes: bytes) -> bytes:
    """A Burst-like sky map made from a real one: only UNIQ and PROBDENSITY, no DISTMEAN/DISTSTD."""
    from astropy.io import fits

    with fits.open(io.BytesIO(fits_bytes)) as hdul:
        table = hdul[1]
        new = fits.BinTableHDU.from_columns([c for c in table.columns if c.name in ("UNIQ", "PROBDENSITY")])
        for key in ("ORDERING", "COORDSYS", "OBJECT", "DATE-OBS", "INSTRUME"):
            if key in table.header:
                new.header[key] = table.header[key]
        out = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), new]).writeto(out)
        return out.getvalue()


def slack_target(outbox):
    """The Slack target behind an outbox's Slack sender (what the tests inspect)."""
    return outbox.senders["Post"].target
