"""Delivery: the outbox runner and the sinks that need no Discord client.

``outbox`` sends what the store's outbox holds, in order per target, with retries and
leases; ``webhook`` posts to the operator's webhooks; ``sinks`` has the log sink. A sink
is anything that implements :class:`bot.core.sinks.Sink`: the Discord channel sink lives
with the bot (``bot.discordbot``), a new kind of target gets a module here.
"""

from __future__ import annotations

from bot.core.sinks import DeliveryError, Sink
from bot.delivery.outbox import MAX_ATTEMPTS, FlushReport, Outbox
from bot.delivery.sinks import LogSink
from bot.delivery.webhook import WebhookSink, make_webhook_sinks

__all__ = [
    "MAX_ATTEMPTS",
    "DeliveryError",
    "FlushReport",
    "LogSink",
    "Outbox",
    "Sink",
    "WebhookSink",
    "make_webhook_sinks",
]
