"""What every channel delivery reads, kept in memory: broken channels, servers' settings."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bot.core.records import GuildSettings
from bot.store import Store


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """Broken channels and servers' settings as read at ``loaded_at`` (monotonic time)."""

    broken: set[int]
    settings: dict[int, GuildSettings]
    loaded_at: float


class DeliveryCache:
    """Both read in one go and kept, dropped on every change made in this process, and read
    again after ``ttl`` seconds so that a change another process made is seen soon.

    Every channel delivery asks whether its channel is broken and how its server wants
    alerts: two queries per message would slow a fan-out to many channels. Commands and
    checks read the database.
    """

    def __init__(self, store: Store, ttl: float = 5.0) -> None:
        self.store = store
        self.ttl = ttl
        self._view: DeliveryView | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    async def view(self) -> DeliveryView:
        view = self._view
        if view is not None and time.monotonic() - view.loaded_at < self.ttl:
            return view
        # Many deliveries start at once: one of them reads, the others wait for it.
        async with self._lock:
            view = self._view
            if view is not None and time.monotonic() - view.loaded_at < self.ttl:
                return view
            generation = self._generation
            loaded_at = time.monotonic()
            broken, settings = await self.store.guilds.delivery_view()
            view = DeliveryView(broken, settings, loaded_at)
            # A change made while this was being read may be missing from it: not kept then.
            if generation == self._generation:
                self._view = view
            return view

    def forget(self) -> None:
        """Drop what is kept: the next delivery reads the database again."""
        self._view = None
        self._generation += 1
