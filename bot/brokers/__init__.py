"""Optical alert brokers in: their Kafka streams and wire formats, decoded into one candidate record.

Each format is decoded from the bytes, without the brokers' own clients (their pins conflict, and the ANTARES
client stops on one bad message). A decoder's ``peek`` reads only what the cross-match needs; ``detail`` reads
the rest, for the few alerts that fall in an event's region.
"""

from .record import Candidate, DecodeError, Format

__all__ = ["Candidate", "DecodeError", "Format"]
