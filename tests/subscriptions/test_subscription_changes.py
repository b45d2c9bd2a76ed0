"""A process routing matches picks up subscriptions other processes change, without restart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.core.watchlist import Company, Watchlist
from bot.service.routing import SubscribedRouting
from bot.store import Store
from bot.subscriptions import Subscriptions
from scrapers.models import Disclosure, Evidence

OtherStore = Callable[[], Awaitable[Store]]


@pytest.fixture
def store_url(any_db_url: str) -> str:
    """Processes that share one database: on SQLite and on PostgreSQL."""
    return any_db_url


WATCHLIST = Watchlist([Company("MoneyGram", domains=("moneygram.com",))])
GUILD, CHANNEL = 1290000000000000001, 1290000000000000011
CASIO = Disclosure(
    source="bleepingcomputer",
    title="Casio says ransomware attack exposed data of employees and partners",
    url="https://www.bleepingcomputer.com/news/security/casio-ransomware-attack/",
    evidence=Evidence.REPORTED,
)


async def _scraper(other_store: OtherStore) -> tuple[Subscriptions, SubscribedRouting]:
    """What a scraper process holds: its own store, index and matcher."""
    subs = Subscriptions(await other_store(), WATCHLIST)
    await subs.load()
    routing = await SubscribedRouting.follow(subs)
    return subs, routing


def routed(routing: SubscribedRouting, item: Disclosure) -> list[str]:
    return [t for m in routing.matcher.match(item) for t in routing.targets(m)]


async def test_a_subscription_made_elsewhere_is_routed_after_a_refresh(
    store: Store, other_store: OtherStore
) -> None:
    """A server subscribes through the bot's process: the scraper's next refresh matches the
    new company and routes it to the channel; an unsubscribe is picked up the same way."""
    bot = Subscriptions(store, WATCHLIST)
    await bot.load()
    scraper, pipeline = await _scraper(other_store)
    assert await scraper.refresh() is False  # nothing changed: no reload

    await bot.subscribe(GUILD, CHANNEL, "Casio")
    assert routed(pipeline, CASIO) == []  # not yet
    assert await scraper.refresh() is True
    assert routed(pipeline, CASIO) == [f"channel:{CHANNEL}"]
    assert scraper.guild_of(CHANNEL) == GUILD
    assert await scraper.refresh() is False

    assert await bot.unsubscribe(GUILD, "Casio") == 1
    assert await scraper.refresh() is True
    assert routed(pipeline, CASIO) == []


async def test_a_channel_broken_elsewhere_stops_being_routed(
    store: Store, other_store: OtherStore
) -> None:
    """A channel one process found deleted is dropped from the others' routing too."""
    bot = Subscriptions(store, WATCHLIST)
    await bot.subscribe(GUILD, CHANNEL, "Casio")
    scraper, pipeline = await _scraper(other_store)
    assert routed(pipeline, CASIO) == [f"channel:{CHANNEL}"]
    await bot.mark_broken(CHANNEL, "the channel was deleted", code=10003)
    assert await scraper.refresh() is True
    assert routed(pipeline, CASIO) == []


async def test_watching_reloads_changes_by_itself(store: Store, other_store: OtherStore) -> None:
    """The watch loop of a running process reloads after another process's change."""
    bot = Subscriptions(store, WATCHLIST)
    await bot.load()
    scraper, pipeline = await _scraper(other_store)
    reloaded = asyncio.Event()
    scraper.on_reloaded(reloaded.set)
    watching = asyncio.create_task(scraper.watch(every=0.01))
    try:
        await bot.subscribe(GUILD, CHANNEL, "Casio")
        # Adding the company and subscribing the channel are two changes: a reload may
        # come between them, and the next one brings the rest.
        async with asyncio.timeout(20):
            while True:
                reloaded.clear()
                if routed(pipeline, CASIO) == [f"channel:{CHANNEL}"]:
                    break
                await reloaded.wait()
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)


async def test_changes_made_together_by_two_processes_all_arrive(
    store: Store, other_store: OtherStore
) -> None:
    """Two bot processes subscribing at the same time: a third sees both channels."""
    first = Subscriptions(store, WATCHLIST)
    second = Subscriptions(await other_store(), WATCHLIST)
    scraper, pipeline = await _scraper(other_store)
    channels = [CHANNEL + n for n in range(12)]
    await asyncio.gather(
        *(
            (first if n % 2 else second).subscribe(GUILD + n, channel, "MoneyGram")
            for n, channel in enumerate(channels)
        )
    )
    assert await scraper.refresh() is True
    item = Disclosure(
        source="the-record",
        title="MoneyGram says hackers stole customer data in September cyberattack",
        url="https://therecord.media/moneygram-cyberattack",
    )
    assert routed(pipeline, item) == [f"channel:{c}" for c in channels]
