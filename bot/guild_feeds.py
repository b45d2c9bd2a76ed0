"""Poll the feeds servers added with ``/sources add``, for those servers alone.

A server's feed is its own: what it finds is alerted only in that server's channels, never
to the operator's webhooks or other servers, and its URL is always fetched with the guard
against private addresses, whatever the operator allows for the catalog's sources.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from bot.core.clock import utcnow
from bot.core.matching import Match
from bot.core.records import GuildSource
from bot.pipeline import Pipeline, SourceResult
from bot.subscriptions import Subscriptions
from scrapers.base import Page, Scraper, SourceSpec

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=30)


class GuildPipeline(Pipeline):
    """A pipeline whose alerts go to one server's channels only."""

    def __init__(
        self, *args: Any, guild_id: int, subscriptions: Subscriptions, allow_private: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.guild_id = guild_id
        self.subscriptions = subscriptions
        self._allow_private = allow_private  # only tests on loopback set this
        self.extra_targets = self._own_channels

    def _own_channels(self, match: Match) -> Iterable[str]:
        for target in self.subscriptions.targets_for(match):
            if self.subscriptions.guild_of(int(target.split(":", 1)[1])) == self.guild_id:
                yield target

    def webhook_targets(self, match: Match) -> list[str]:
        return []

    def _fetch_for(self, spec: SourceSpec, scraper: Scraper) -> Any:
        async def fetch(url: str, *, conditional: bool = True) -> Page | None:
            return await self.fetcher.fetch(
                url, conditional=conditional, allow_private=self._allow_private
            )

        return fetch


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

    def pipeline_for(self, guild_id: int) -> GuildPipeline:
        pipeline = GuildPipeline(
            self.base.config,
            self.base.store,
            self.base.fetcher,
            matcher=self.base.matcher,  # the current set, servers' companies included
            guild_id=guild_id,
            subscriptions=self.subscriptions,
            allow_private=self.allow_private,
            clock=self.base.clock,
        )
        return pipeline

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
                log.info("server feed %s failed: %s", source.name, result.error)
            results.append(result)
        if self.on_found is not None and any(r.found for r in results):
            self.on_found()
        return results
