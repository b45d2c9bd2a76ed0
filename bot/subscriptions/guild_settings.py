"""How each server wants its alerts: a role to mention, the evidence it needs, the mode."""

from __future__ import annotations

from bot.core.clock import utcnow
from bot.core.records import GuildSettings
from bot.store import Store
from bot.subscriptions.cache import DeliveryCache
from bot.subscriptions.names import SubscriptionError
from scrapers.models import Evidence


class ServerSettings:
    """Read and change servers' settings; deliveries read them through the cache."""

    def __init__(self, store: Store, cache: DeliveryCache) -> None:
        self.store = store
        self.cache = cache

    async def settings(self, guild_id: int, *, cached: bool = False) -> GuildSettings:
        """How the server wants its alerts; ``cached``: as deliveries see it."""
        if cached:
            found = (await self.cache.view()).settings.get(guild_id)
            return found if found is not None else GuildSettings(guild_id)
        found = await self.store.guilds.settings_of(guild_id)
        return GuildSettings(guild_id) if found is None else found

    async def update_settings(
        self,
        guild_id: int,
        *,
        by: int | None = None,
        mention_role_id: int | bool | None = False,  # False: leave as is; None: clear
        min_evidence: Evidence | None = None,
        mode: str | None = None,
    ) -> GuildSettings:
        """Change the settings given; return the result."""
        if mode is not None and mode not in ("instant", "digest"):
            raise SubscriptionError("Mode must be instant or digest.")
        current = await self.settings(guild_id)
        role = current.mention_role_id if mention_role_id is False else mention_role_id
        wanted = GuildSettings(
            guild_id,
            mention_role_id=role,
            min_evidence=min_evidence or current.min_evidence,
            mode=mode or current.mode,
        )
        await self.store.guilds.save_settings(guild_id, wanted, by=by, now=utcnow())
        self.cache.forget()
        return await self.settings(guild_id)
