"""The sink of last resort: alerts written to the log when nothing else is configured."""

from __future__ import annotations

import logging

from bot.core.logfields import about
from bot.core.records import Delivery

log = logging.getLogger("bot.delivery")


class LogSink:
    """Writes alerts to the log; the sink of last resort when nothing else is configured."""

    async def send(self, delivery: Delivery) -> str | None:
        p = delivery.payload
        log.info(
            "alert: [%s] %s %s (%s)",
            p.get("company"),
            p.get("title"),
            p.get("url"),
            p.get("source"),
            extra=about(
                source=p.get("source"), target=delivery.target, incident=delivery.incident_id
            ),
        )
        return None
