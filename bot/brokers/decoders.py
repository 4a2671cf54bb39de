"""One entry point per format: :func:`peek` (what the cross-match needs) and :func:`detail` (everything, for the
alerts that fall in a region)."""

from __future__ import annotations

from dataclasses import dataclass

from . import antares, boom, fink, lasair, rubin
from .record import Candidate, Format

__all__ = ["Message", "detail", "evidence", "peek", "peek_all"]


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


def peek_all(fmt: Format, broker: str, message: Message) -> list[Candidate]:
    """Every candidate of a message: one, except for formats that carry several objects (BOOM notices)."""
    if fmt is Format.BOOM:
        return boom.decode(message.value, broker)
    return [peek(fmt, broker, message)]


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


def evidence(fmt: Format, message: Message, detailed: Candidate) -> Candidate:
    """The detailed candidate with the light curve and stamps its alert carries, read for the candidates that are
    kept only (Fink and BOOM carry them in the detail read already; ANTARES and Lasair streams carry none)."""
    if fmt is Format.RUBIN:
        return rubin.decode_evidence(message.value, detailed)
    return detailed
