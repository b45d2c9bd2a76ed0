"""The feeds servers add for themselves with ``/sources add``; each is its server's alone."""

from __future__ import annotations

from bot.core.clock import utcnow
from bot.core.records import GUILD_SOURCE_PREFIX, GuildSource
from bot.store import Store


def visible_to(source_name: str, guild_id: int | None) -> bool:
    """Whether a source's items may be shown to ``guild_id``: a server's own feed is its own."""
    if not source_name.startswith(GUILD_SOURCE_PREFIX):
        return True
    return guild_id is not None and source_name.startswith(f"{GUILD_SOURCE_PREFIX}{guild_id}-")


class Feeds:
    """Servers' own feeds, as the poller and each server see them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add_source(
        self, guild_id: int, page_url: str, feed_url: str, title: str | None, by: int | None
    ) -> tuple[GuildSource, bool]:
        """Remember a feed for this server; return it and whether it was new."""
        return await self.store.guilds.add_source(
            guild_id, page_url, feed_url, title, by=by, now=utcnow()
        )

    async def all_sources(self) -> list[GuildSource]:
        """Every server's feeds, for the poller only (never shown to a server)."""
        return await self.store.guilds.all_sources()

    async def sources(self, guild_id: int) -> list[GuildSource]:
        return await self.store.guilds.sources_of(guild_id)
