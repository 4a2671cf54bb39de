"""One entry point per format: :func:`peek` (what the cross-match needs) and :func:`detail` (everything, for the
alerts that fall in a region)."""

from __future__ import annotations

from dataclasses import dataclass

from . import antares, fink, lasair, rubin
from .record import Candidate, Format

__all__ = ["Message", "detail", "peek"]


@dataclass(frozen=True)
class Message:
    """A broker's Kafka message, as the candidate worker sees it."""

    topic: str
    value: bytes
    key: bytes | None = None
    partition: int = 0
    offset: int = 0
    timestamp: float | None = None  # broker time, epoch seconds


def peek(fmt: Format, broker: str, message: Message) -> Candidate:
    """The fields the cross-match needs; cheap for the Avro formats, whole for the others."""
    match fmt:
        case Format.RUBIN:
            return rubin.decode_peek(message.value, broker)
        case Format.FINK:
            return fink.decode_peek(message.value, message.key, broker)
        case Format.ANTARES:
            return antares.decode(message.value, broker)
        case Format.LASAIR:
            return lasair.decode(message.value, broker, message.timestamp)
    raise ValueError(f"unknown broker format {fmt!r}")


def detail(fmt: Format, broker: str, message: Message, peeked: Candidate) -> Candidate:
    """The whole alert: history (first detection), host distance, catalogue matches."""
    if peeked.detailed:
        return peeked
    match fmt:
        case Format.RUBIN:
            return rubin.decode_detail(message.value, peeked)
        case Format.FINK:
            return fink.decode_detail(message.value, message.key, broker)
    return peeked
