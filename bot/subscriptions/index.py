"""Which channels watch which company, in memory, kept current across processes.

Every process that changes subscriptions (or adds a company) bumps a change counter in
the meta table, and every process that routes matches reloads when the counters moved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.core.cards.filters import NO_FILTER, CardFilter
from bot.core.matching import Match
from bot.core.watchlist import Company, Watchlist
from bot.store import Store
from bot.subscriptions.cache import DeliveryCache
from bot.subscriptions.companies import all_companies

log = logging.getLogger(__name__)

SUBSCRIPTIONS_VERSION = "subscriptions.version"
COMPANIES_VERSION = "subscriptions.companies_version"
RELOAD_EVERY = 5.0  # seconds between two checks of the counters


class Index:
    """The routing index: company -> channels, channel -> server."""

    def __init__(self, store: Store, watchlist: Watchlist, cache: DeliveryCache) -> None:
        self.store = store
        self.watchlist = watchlist
        self.cache = cache
        self._channels_by_company: dict[str, set[int]] = {}
        self._guild_of_channel: dict[int, int] = {}
        self._filters: dict[int, CardFilter] = {}
        self._companies_changed: list[Callable[[list[Company]], None]] = []
        self._reloaded: list[Callable[[], None]] = []
        # The change counters the index was built at; (-1, -1): never loaded.
        self._versions: tuple[int, ...] = (-1, -1)

    async def load(self) -> None:
        """Rebuild the routing index from the database."""
        # Read the counters first: a change made after this read bumps them after it, so
        # the next refresh sees it even if the rows below already include it.
        versions = await self.store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION)
        index: dict[str, set[int]] = {}
        guild_of: dict[int, int] = {}
        for company_key, channel_id, guild_id in await self.store.guilds.routes():
            index.setdefault(company_key, set()).add(channel_id)
            guild_of[channel_id] = guild_id
        filters = await self.store.guilds.channel_filters()
        self._channels_by_company = index
        self._guild_of_channel = guild_of
        self._filters = filters
        self._versions = versions

    async def refresh(self) -> bool:
        """Reload if any process changed subscriptions or companies since; say whether.

        A scraper routes matches with this index, so it picks up what servers subscribed
        through a bot process without a restart; a bot process picks up the subscriptions
        made through the processes of other shards.
        """
        before = self._versions
        if await self.store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION) == before:
            return False
        await self.load()
        # A channel another process marked broken or repaired counts as a change too.
        self.cache.forget()
        log.info(
            "subscriptions changed elsewhere: reloaded (%d channels watch %d companies)",
            len(self._guild_of_channel),
            len(self._channels_by_company),
        )
        if self._versions[1] != before[1]:
            await self._notify_companies()
        for callback in self._reloaded:
            callback()
        return True

    async def watch(self, every: float = RELOAD_EVERY) -> None:
        """Refresh every ``every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not check for changed subscriptions")

    def on_reloaded(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a refresh found changes and reloaded them."""
        self._reloaded.append(callback)

    def targets_for(self, match: Match) -> list[str]:
        """Outbox targets (``channel:<id>``) for the channels watching the matched company."""
        return [
            f"channel:{c}" for c in sorted(self._channels_by_company.get(match.company.key, ()))
        ]

    def guild_of(self, channel_id: int) -> int | None:
        return self._guild_of_channel.get(channel_id)

    def filter_of(self, channel_id: int) -> CardFilter:
        """The channel's filter on incident cards, as routing sees it (none: every incident)."""
        return self._filters.get(channel_id, NO_FILTER)

    def on_companies_changed(self, callback: Callable[[list[Company]], None]) -> None:
        """Call ``callback`` with the full company set whenever a server adds one."""
        self._companies_changed.append(callback)

    async def changed(self, companies: bool) -> None:
        """A change made here is committed: tell the other processes, and reload."""
        await self.store.bump_counters(
            SUBSCRIPTIONS_VERSION, *((COMPANIES_VERSION,) if companies else ())
        )
        await self.load()
        if companies:
            await self._notify_companies()

    async def reload(self, companies: bool) -> None:
        """A change announced in its own transaction (an import) is committed: reload."""
        await self.load()
        if companies:
            await self._notify_companies()

    async def _notify_companies(self) -> None:
        if self._companies_changed:
            everything = await all_companies(self.store, self.watchlist)
            for callback in self._companies_changed:
                callback(everything)
