"""What a delivery target is: a :class:`Sink`, and the :class:`DeliveryError` it raises.

The outbox sends through sinks without knowing what is behind them: a webhook, a Discord
channel, the log. Each implementation lives in the room that knows its receiver.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.records import Delivery


class DeliveryError(Exception):
    """A send failed; ``retry_after`` says when to try again, ``permanent`` that it is futile."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sink(Protocol):
    """Something that can show an alert to people."""

    async def send(self, delivery: Delivery) -> str | None:
        """Deliver; return the receiver's message id if it gives one. Raise DeliveryError."""
        ...
