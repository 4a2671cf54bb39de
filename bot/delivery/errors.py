"""How a sender tells the outbox what became of a delivery, whatever the service."""

from __future__ import annotations

__all__ = ["Rejected", "RetryLater"]


class RetryLater(Exception):
    """Try the same delivery again later. ``after``: when (else backoff); ``maybe_sent``: the request may have
    reached the service (look it up before sending again); ``unexpected``: an answer that could not be classified
    (retried a bounded number of times); ``tell_ops``: (what, detail) the people running the bot must know."""

    def __init__(self, reason: str, after: float | None = None, maybe_sent: bool = False, unexpected: bool = False,
                 tell_ops: tuple[str, str] | None = None) -> None:
        super().__init__(reason)
        self.after = after
        self.maybe_sent = maybe_sent
        self.unexpected = unexpected
        self.tell_ops = tell_ops


class Rejected(Exception):
    """The service's verdict on this delivery (or a delivery that cannot be made): it fails, is reported to the ops
    channel, and its lane goes on."""
