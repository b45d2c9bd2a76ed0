"""Importing thousands of vendors: one transaction, one reload, every line accounted for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.core.matching import Matcher
from bot.core.watchlist import Company, Watchlist
from bot.store import Store
from bot.subscriptions import (
    COMPANIES_VERSION,
    SUBSCRIPTIONS_VERSION,
    ImportLine,
    SubscriptionError,
    Subscriptions,
)
from bot.subscriptions.index import Index
from scrapers.models import Disclosure, Evidence

GUILD, CHANNEL = 7001, 7002
WATCHLIST = Watchlist(
    [
        Company("Casio", aliases=("カシオ計算機",)),
        Company("MoneyGram", aliases=("MoneyGram International",)),
    ]
)


@pytest.fixture
def store_url(any_db_url: str) -> str:
    return any_db_url


def vendor_file(count: int) -> tuple[str, dict[int, str]]:
    """``count`` lines of vendors with a few bad ones; the bad lines' numbers and names."""
    lines = ["vendor,aliases"]
    bad = {}
    for i in range(count - 1):
        number = len(lines) + 1
        if i % 997 == 500:
            lines.append("<@123456789> Ltd")  # a mention: refused
            bad[number] = "<@123456789> Ltd"
        elif i == 10:
            lines.append("カシオ計算機")  # the watchlist's Casio, by its alias
        else:
            lines.append(f"Supplier {i:05d} Holdings,Supplier {i:05d}")
    return "\n".join(lines) + "\n", bad


async def counters(store: Store) -> tuple[int, ...]:
    return await store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION)


def count_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    loads: list[int] = []
    original: Callable[[Index], Awaitable[None]] = Index.load

    async def load(self: Index) -> None:
        loads.append(1)
        await original(self)

    monkeypatch.setattr(Index, "load", load)
    return loads


async def test_five_thousand_lines_apply_at_once_and_reload_routing_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every good line is subscribed, each bad one reported with its line number."""
    subs = Subscriptions(store, WATCHLIST)
    await subs.load()
    text, bad = vendor_file(5000)
    before = await counters(store)
    loads = count_loads(monkeypatch)
    report = await subs.import_text(GUILD, CHANNEL, text, by=99)
    assert loads == [1]  # one reload of the routing for the whole file
    # Announced once, in the import's transaction: other processes reload once too.
    assert await counters(store) == (before[0] + 1, before[1] + 1)
    assert len(report.added) == 4999 - len(bad)
    assert {line.number: line.name for line in report.refused} == bad
    assert all("mentions" in line.detail for line in report.refused)
    assert len(await subs.for_guild(GUILD)) == 4999 - len(bad)
    # The watchlist's company is subscribed as itself, not added again as a new one.
    assert "Casio" in report.added and "カシオ計算機" not in report.added
    item = Disclosure(
        source="x",
        url="https://x.test/1",
        title="Supplier 04321 Holdings confirms ransomware attack",
        evidence=Evidence.REPORTED,
    )
    (match,) = Matcher(await subs.all_companies()).match(item)
    assert subs.targets_for(match) == [f"channel:{CHANNEL}"]


async def test_importing_the_same_file_again_applies_nothing_twice(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry reports every line as already watched and announces nothing."""
    subs = Subscriptions(store, WATCHLIST)
    await subs.load()
    text, bad = vendor_file(800)
    first = await subs.import_text(GUILD, CHANNEL, text)
    after_first = await counters(store)
    loads = count_loads(monkeypatch)
    again = await subs.import_text(GUILD, CHANNEL, text)
    assert again.added == [] and loads == []
    assert await counters(store) == after_first
    assert len(again.already) == len(first.added)
    assert [line.number for line in again.refused] == sorted(bad)
    assert len(await subs.for_guild(GUILD)) == len(first.added)
    # Another channel of the same server reuses the companies the first import added.
    other = await subs.import_text(GUILD, CHANNEL + 1, text)
    assert len(other.added) == len(first.added)
    assert await counters(store) == (after_first[0] + 1, after_first[1])


async def test_an_import_cut_short_applies_nothing_and_a_retry_applies_it_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the transaction leaves no half-imported list behind."""
    subs = Subscriptions(store, WATCHLIST)
    await subs.load()
    text, _ = vendor_file(300)

    async def fail(*_: object) -> None:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr(store.meta, "bump", fail)
        with pytest.raises(RuntimeError):
            await subs.import_text(GUILD, CHANNEL, text)
    assert await subs.for_guild(GUILD) == []
    assert await subs.guild_companies(GUILD) == []
    report = await subs.import_text(GUILD, CHANNEL, text)
    assert len(report.added) == 299
    assert len(await subs.for_guild(GUILD)) == 299


async def test_another_process_sees_the_import_at_its_next_check(
    store: Store, other_store: Callable[[], Awaitable[Store]]
) -> None:
    """A scraper process routes to the imported channel after one refresh."""
    elsewhere = Subscriptions(await other_store(), WATCHLIST)
    await elsewhere.load()
    subs = Subscriptions(store, WATCHLIST)
    await subs.load()
    await subs.import_text(GUILD, CHANNEL, "Okta\nSnowflake\nMoneyGram International\n")
    assert await elsewhere.refresh()
    item = Disclosure(
        source="x",
        url="https://x.test/2",
        title="Snowflake customers hit by data breach",
        evidence=Evidence.REPORTED,
    )
    (match,) = Matcher(await elsewhere.all_companies()).match(item)
    assert elsewhere.targets_for(match) == [f"channel:{CHANNEL}"]
    assert not await elsewhere.refresh()


async def test_line_numbers_follow_the_file_across_quoted_line_breaks(store: Store) -> None:
    """A CSV field spanning lines does not shift the numbers of the lines after it."""
    subs = Subscriptions(store, WATCHLIST)
    text = (
        'name,notes\n"Block, Inc.",ok\nOkta,"a note\non two lines"\n\n# ours\n'
        "@@@\nokta\nBlock, Inc.\n"
    )
    report = await subs.import_text(GUILD, CHANNEL, text)
    assert report.added == ["Block, Inc.", "Okta"]
    assert [line for line in report.lines if line.outcome != "added"] == [
        ImportLine(7, "@@@", "refused", "The company name needs at least one letter or digit."),
        ImportLine(8, "okta", "duplicate", "listed twice (first on line 3)"),
        ImportLine(9, "Block, Inc.", "duplicate", "listed twice (first on line 2)"),
    ]
    assert report.not_added().splitlines()[1] == "line 8: okta: listed twice (first on line 3)"


async def test_a_file_over_the_line_limit_is_refused_whole(store: Store) -> None:
    subs = Subscriptions(store, WATCHLIST)
    with pytest.raises(SubscriptionError, match="more than 10,000 lines"):
        await subs.import_text(GUILD, CHANNEL, "\n".join(f"V{i}" for i in range(10_001)))
    assert await subs.for_guild(GUILD) == []
