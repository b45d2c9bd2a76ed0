"""A sink that reports how each attempt through it ended, for the service's metrics.

It wraps a sink rather than hooking into the outbox: whatever the outbox decides about
retries and order, every attempt goes through ``send``, and its end is counted here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.records import Delivery
from bot.core.sinks import DeliveryError, Sink

log = logging.getLogger(__name__)

# How an attempt ended: accepted by the receiver, refused for now, refused for good, or a
# fault of ours.
SENT, FAILED, REJECTED, ERROR = "sent", "failed", "rejected", "error"
AttemptObserver = Callable[[Delivery, str], Awaitable[None]]


class ObservedSink:
    """``sink``, telling ``observe`` the outcome of every ``send``; otherwise the same sink."""

    def __init__(self, sink: Sink, observe: AttemptObserver) -> None:
        self.sink = sink
        self._observe = observe

    def __getattr__(self, name: str) -> Any:
        # Anything else the outbox asks of a sink is the wrapped sink's.
        return getattr(self.sink, name)

    def __repr__(self) -> str:
        return f"ObservedSink({self.sink!r})"

    async def send(self, delivery: Delivery) -> str | None:
        try:
            message_id = await self.sink.send(delivery)
        except DeliveryError as exc:
            await self._report(delivery, REJECTED if exc.permanent else FAILED)
            raise
        except Exception:
            await self._report(delivery, ERROR)
            raise
        await self._report(delivery, SENT)
        return message_id

    async def _report(self, delivery: Delivery, outcome: str) -> None:
        # Counting must never change what happens to the alert.
        try:
            await self._observe(delivery, outcome)
        except Exception:
            log.debug("could not record a delivery outcome", exc_info=True)
