"""A fake Discord on loopback and the real bot connected to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
import pytest
import yarl

from bot.core.watchlist import Company, Watchlist
from bot.discordbot.client import BotServices, BreachRadarBot, point_at
from bot.store import Store
from bot.subscriptions import Subscriptions
from bot.subscriptions.discovery import feed_finder
from scrapers.http import Fetcher, FetchPolicy
from tests.support.fake_discord import FakeChannel, FakeDiscord, FakeGuild

WATCHLIST = Watchlist(
    [
        Company("Ticketmaster", aliases=("Live Nation",), domains=("ticketmaster.com",)),
        Company("MoneyGram", domains=("moneygram.com",)),
        Company("Change Healthcare", aliases=("UnitedHealth",)),
    ]
)


class FastBot(BreachRadarBot):
    """The real bot, minus discord.py's 5-second pause before a re-identify."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@dataclass
class Harness:
    fake: FakeDiscord
    store: Store
    subs: Subscriptions
    fetcher: Fetcher
    guild_a: FakeGuild
    alerts_a: FakeChannel
    general_a: FakeChannel
    guild_b: FakeGuild
    news_b: FakeChannel
    bot: BreachRadarBot | None = None
    task: asyncio.Task[None] | None = None

    async def start_bot(self, *, dev_guild: int | None = None, **services: Any) -> BreachRadarBot:
        """Start the bot against the fake and wait until it is ready."""
        point_at(self.fake.api_url, self.fake.gateway_url)
        options: dict[str, Any] = {
            "store": self.store,
            "subscriptions": self.subs,
            "source_health": self.store.source_health,
            "source_names": ("bleepingcomputer", "sec-8k"),
            "find_feed": feed_finder(self.fetcher),
        }
        options.update(services)
        bot = FastBot(BotServices(**options), dev_guild=dev_guild, guild_ready_timeout=0.1)
        self.bot = bot
        self.task = asyncio.create_task(bot.start("fake-token"))
        await asyncio.wait_for(bot.wait_until_ready(), 20)
        # The start-up channel check runs beside the test; let it finish first.
        await asyncio.wait_for(bot.channels_checked.wait(), 20)
        return bot

    async def stop_bot(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self.task is not None:
            await self.task
        self.bot = None
        self.task = None


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A fake Discord on 127.0.0.1; discord.py is pointed at it for this test only."""
    fake = await FakeDiscord().start()
    # Restored after the test: point_at() changes these class attributes.
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    yield fake
    await fake.stop()


@pytest.fixture
async def harness(fake_discord: FakeDiscord, store: Store) -> AsyncIterator[Harness]:
    """Two servers on the fake, a fresh database, and a way to start the bot."""
    subs = Subscriptions(store, WATCHLIST)
    await subs.load()
    guild_a = fake_discord.add_guild("Acme Security", "alerts", "general")
    guild_b = fake_discord.add_guild("Other Server", "news")
    alerts_a, general_a = guild_a.channels.values()
    (news_b,) = guild_b.channels.values()
    fetcher = Fetcher(FetchPolicy(retries=0, host_spacing=0.0))
    h = Harness(fake_discord, store, subs, fetcher, guild_a, alerts_a, general_a, guild_b, news_b)
    yield h
    await h.stop_bot()
    await fetcher.aclose()


@pytest.fixture
async def running(harness: Harness) -> Harness:
    """The harness with the bot connected and its commands synced."""
    await harness.start_bot()
    return harness
