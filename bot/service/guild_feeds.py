"""Poll the feeds servers added with ``/sources add``, for those servers alone.

A server's feed is its own: what it finds is alerted only in that server's channels, never
to the operator's webhooks or other servers, and its URL is always fetched with the guard
against private addresses, whatever the operator allows for the catalog's sources.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from bot.core.clock import utcnow
from bot.core.logfields import about
from bot.core.records import GuildSource
from bot.service.pipeline import FetchFor, Pipeline, SourceResult
from bot.service.routing import ServerRouting
from bot.subscriptions import Subscriptions
from scrapers.base import Fetch, Page, SourceSpec
from scrapers.http import Fetcher

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=30)


def direct_fetch(fetcher: Fetcher, *, allow_private: bool = False) -> FetchFor:
    """Fetch each URL itself, shared with no other source, under the given address policy.

    ``allow_private`` is for tests on loopback only: a server admin's URL never reaches a
    private address.
    """

    def fetch_for(spec: SourceSpec) -> Fetch:
        async def fetch(url: str, *, conditional: bool = True) -> Page | None:
            return await fetcher.fetch(url, conditional=conditional, allow_private=allow_private)

        return fetch

    return fetch_for


def spec_for(source: GuildSource) -> SourceSpec:
    return SourceSpec(name=source.name, kind="rss", url=source.feed_url, every=EVERY)


class GuildFeeds:
    """Polls every server's own feeds when due."""

    def __init__(
        self,
        base: Pipeline,
        subscriptions: Subscriptions,
        *,
        allow_private: bool = False,
        on_found: Callable[[], None] | None = None,
        guilds: Callable[[int | None], bool] | None = None,
    ) -> None:
        self.base = base
        self.subscriptions = subscriptions
        self.allow_private = allow_private
        self.on_found = on_found
        # Which servers' feeds are this process's to poll (a sharded bot: its shards').
        self.guilds = guilds

    def pipeline_for(self, guild_id: int) -> Pipeline:
        """A pipeline whose alerts go to one server's channels only, never to webhooks."""
        base = self.base
        return Pipeline(
            base.config,
            base.store,
            base.fetcher,
            # The current set of companies, servers' companies included.
            routing=ServerRouting(self.subscriptions, guild_id, base.matcher),
            fetch_for=direct_fetch(base.fetcher, allow_private=self.allow_private),
            clock=base.clock,
        )

    async def poll_due(self) -> list[SourceResult]:
        """Poll each server feed whose next poll has come; return what each poll did."""
        health = await self.base.store.source_health()
        now = utcnow()
        results: list[SourceResult] = []
        for source in await self.subscriptions.all_sources():
            if self.guilds is not None and not self.guilds(source.guild_id):
                continue
            known = health.get(source.name)
            if known is not None and known.next_poll_at is not None and known.next_poll_at > now:
                continue
            result = await self.pipeline_for(source.guild_id).poll(spec_for(source))
            if not result.ok:
                log.info(
                    "server feed %s failed: %s", source.name, result.error,
                    extra=about(source=source.name),
                )  # fmt: skip
            results.append(result)
        if self.on_found is not None and any(r.found for r in results):
            self.on_found()
        return results
