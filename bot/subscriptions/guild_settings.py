"""How each server wants its alerts: a role to mention, the evidence it needs, the mode."""

from __future__ import annotations

from bot.core.cards.filters import NO_FILTER, UNKNOWN_CHOICES, CardFilter, parse_count, parse_data
from bot.core.clock import utcnow
from bot.core.records import GuildSettings
from bot.store import Store
from bot.subscriptions.cache import DeliveryCache
from bot.subscriptions.companies import Changed
from bot.subscriptions.names import SubscriptionError
from scrapers.models import Evidence


class ServerSettings:
    """Read and change servers' settings; deliveries read them through the cache."""

    def __init__(self, store: Store, cache: DeliveryCache, changed: Changed) -> None:
        self.store = store
        self.cache = cache
        self._changed = changed  # routing reads channels' filters: tell every process

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

    async def channel_filter(self, channel_id: int) -> CardFilter:
        """A channel's filter on incident cards, as stored (none: every incident)."""
        return await self.store.guilds.filter_of(channel_id) or NO_FILTER

    async def update_channel_filter(
        self,
        guild_id: int,
        channel_id: int,
        *,
        by: int | None = None,
        min_affected: int | str | bool | None = False,  # False: leave as is; None or 0: clear
        data: str | bool | None = False,  # False: leave as is; None or "": clear
        unknown_affected: str | None = None,
    ) -> CardFilter:
        """Change the channel's filter on what is given; return the result."""
        current = await self.channel_filter(channel_id)
        try:
            count = current.min_affected if min_affected is False else parse_count(min_affected)
            categories = (
                current.data
                if data is False
                else (parse_data(data) if isinstance(data, str) and data else frozenset())
            )
        except ValueError as exc:
            raise SubscriptionError(str(exc)[0].upper() + str(exc)[1:] + ".") from None
        if unknown_affected is not None and unknown_affected not in UNKNOWN_CHOICES:
            raise SubscriptionError("unknown_affected must be hold or alert.")
        wanted = CardFilter(count, categories, unknown_affected or current.unknown_affected)
        await self.store.guilds.save_filter(guild_id, channel_id, wanted, by=by, now=utcnow())
        await self._changed(False)
        return await self.channel_filter(channel_id)
