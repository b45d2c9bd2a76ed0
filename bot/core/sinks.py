"""What a delivery target is: a :class:`Sink`, and the :class:`DeliveryError` it raises.

The outbox sends through sinks without knowing what is behind them: a webhook, a Discord
channel, the log. Each implementation lives in the room that knows its receiver.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.records import Delivery


class DeliveryError(Exception):
    """A send failed: the message is the receiver's answer, short and free of secrets.

    ``retry_after`` says when to try again; ``permanent`` that this alert can never be
    delivered; ``gone`` that nothing can be delivered to the target any more (a deleted
    webhook, a channel deleted or closed to the bot), which implies ``permanent``.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        gone: bool = False,
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent or gone
        self.gone = gone


class MessageGone(DeliveryError):
    """The message an update was to edit no longer exists (deleted by someone)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class Sink(Protocol):
    """Something that can show an alert to people."""

    async def send(self, delivery: Delivery) -> str | None:
        """Deliver; return the receiver's message id if it gives one. Raise DeliveryError."""
        ...
