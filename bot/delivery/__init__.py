"""Delivery: the outbox runner and the sinks that need no Discord client.

``outbox`` sends what the store's outbox holds, target by target, in order, with each
target's health (up, down and probed, or gone) kept in the database; ``webhook`` posts to
the operator's webhooks; ``sinks`` has the log sink. A sink is anything that implements
:class:`bot.core.sinks.Sink`: the Discord channel sink lives with the bot
(``bot.discordbot``), a new kind of target gets a module here.
"""

from __future__ import annotations

from bot.core.sinks import DeliveryError, MessageGone, Sink
from bot.delivery.outbox import PROBE_CAP, Attempt, FlushReport, Outbox, probe_delay
from bot.delivery.sinks import LogSink
from bot.delivery.webhook import WebhookSink, make_webhook_sinks, redacted

__all__ = [
    "PROBE_CAP",
    "Attempt",
    "DeliveryError",
    "FlushReport",
    "LogSink",
    "MessageGone",
    "Outbox",
    "Sink",
    "WebhookSink",
    "make_webhook_sinks",
    "probe_delay",
    "redacted",
]
