"""Alerts held for the servers that chose a daily digest over instant alerts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import utcnow
from bot.core.records import HeldAlert
from bot.store import Store


class Digests:
    """Each channel's held alerts, one per incident (the latest), until its digest is sent."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def hold_for_digest(
        self, guild_id: int, channel_id: int, payload: dict[str, Any]
    ) -> None:
        """Keep an alert for the channel's next digest (one entry per incident, the latest)."""
        incident_id = int(payload.get("incident") or 0)
        body = {k: v for k, v in payload.items() if k != "edit_message_id"}
        await self.store.guilds.hold_for_digest(
            guild_id, channel_id, incident_id, body, now=utcnow()
        )

    async def due_digests(
        self,
        now: datetime,
        period: timedelta,
        *,
        guilds: Callable[[int | None], bool] | None = None,
    ) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """Channels whose oldest held alert is ``period`` old, with all their held alerts.

        ``guilds`` keeps the servers it accepts (a sharded bot's process: its shards').
        """
        by_channel: dict[int, list[HeldAlert]] = {}
        for held in await self.store.guilds.held_alerts():
            if guilds is not None and not guilds(held.guild_id):
                continue
            by_channel.setdefault(held.channel_id, []).append(held)
        due: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for channel_id, items in by_channel.items():
            oldest = min((h.created_at or now) for h in items)
            if now - oldest >= period:
                due[channel_id] = [(h.id, h.payload) for h in items]
        return due

    async def mark_digest_sent(self, ids: Iterable[int], now: datetime) -> None:
        await self.store.guilds.mark_digest_sent(ids, now)
