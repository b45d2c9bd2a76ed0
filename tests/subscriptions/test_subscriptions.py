"""Servers' subscriptions, companies and settings, without Discord."""

from __future__ import annotations

import pytest

from bot.core.matching import Matcher
from bot.core.watchlist import Company, Watchlist
from bot.store import Store
from bot.subscriptions import SubscriptionError, Subscriptions
from scrapers.models import Disclosure, Evidence

GUILD_A, GUILD_B = 111, 222
CHANNEL_A, CHANNEL_B = 1001, 2001
WATCHLIST = Watchlist([Company("Ticketmaster", aliases=("Live Nation",))])


@pytest.fixture
async def subs(store: Store) -> Subscriptions:
    core = Subscriptions(store, WATCHLIST)
    await core.load()
    return core


async def test_unknown_company_joins_the_matched_set(subs: Subscriptions) -> None:
    """A company a server adds is matched from then on, aliases included."""
    seen: list[list[Company]] = []
    subs.on_companies_changed(seen.append)
    company, added = await subs.subscribe(GUILD_A, CHANNEL_A, "Casio", aliases=["CASIO COMPUTER"])
    assert added and company.name == "Casio"
    matcher = Matcher(seen[-1])
    item = Disclosure(
        source="bleepingcomputer",
        url="https://example.test/casio",
        title="CASIO COMPUTER confirms data breach after ransomware attack",
        evidence=Evidence.REPORTED,
    )
    assert [m.company.name for m in matcher.match(item)] == ["Casio"]
    assert {c.name for c in seen[-1]} == {"Ticketmaster", "Casio"}


async def test_servers_never_see_each_other(subs: Subscriptions) -> None:
    """One server's subscriptions, settings and removals leave another's untouched."""
    await subs.subscribe(GUILD_A, CHANNEL_A, "MoneyGram")
    await subs.subscribe(GUILD_B, CHANNEL_B, "MoneyGram")
    await subs.update_settings(GUILD_A, min_evidence=Evidence.CONFIRMED)
    assert await subs.unsubscribe(GUILD_B, "moneygram") == 1
    assert [s.company_name for s in await subs.for_guild(GUILD_A)] == ["MoneyGram"]
    assert await subs.for_guild(GUILD_B) == []
    assert (await subs.settings(GUILD_B)).min_evidence is Evidence.CLAIMED
    assert (await subs.settings(GUILD_A)).min_evidence is Evidence.CONFIRMED


async def test_match_routes_to_watching_channels_only(subs: Subscriptions) -> None:
    """A match goes to the channels watching the company, by alias too."""
    await subs.subscribe(GUILD_A, CHANNEL_A, "live nation")
    await subs.subscribe(GUILD_B, CHANNEL_B, "AT&T")
    matcher = Matcher(await subs.all_companies())
    item = Disclosure(
        source="reuters",
        url="https://example.test/tm",
        title="Ticketmaster confirms data breach",
        evidence=Evidence.REPORTED,
    )
    (match,) = matcher.match(item)
    assert subs.targets_for(match) == [f"channel:{CHANNEL_A}"]


async def test_import_reports_added_and_skipped(subs: Subscriptions) -> None:
    """An imported CSV adds each vendor once and says why it skipped the rest."""
    await subs.subscribe(GUILD_A, CHANNEL_A, "Ticketmaster")
    text = (
        "vendor,alias\nCasio,CASIO COMPUTER\nKADOKAWA\n\n# comment\nkadokawa\nTicketmaster\n@@@\n"
    )
    report = await subs.import_text(GUILD_A, CHANNEL_A, text)
    assert report.added == ["Casio", "KADOKAWA"]
    assert [s[0] for s in report.skipped] == ["kadokawa", "Ticketmaster", "@@@"]
    assert "listed twice" in report.skipped[0][1]


async def test_import_of_hundreds_of_lines(subs: Subscriptions) -> None:
    """Hundreds of vendors import in one go."""
    text = "\n".join(f"Vendor {i:03d}" for i in range(400))
    report = await subs.import_text(GUILD_A, CHANNEL_A, text)
    assert len(report.added) == 400 and not report.skipped
    assert len(await subs.for_guild(GUILD_A)) == 400


async def test_broken_channel_stops_routing(subs: Subscriptions) -> None:
    """A channel Discord refused is no longer a target and shows as broken."""
    await subs.subscribe(GUILD_A, CHANNEL_A, "Ticketmaster")
    await subs.mark_broken(CHANNEL_A, "Unknown Channel", code=10003)
    matcher = Matcher(await subs.all_companies())
    item = Disclosure(
        source="x",
        url="https://e.test/1",
        title="Ticketmaster data breach",
        evidence=Evidence.REPORTED,
    )
    assert subs.targets_for(matcher.match(item)[0]) == []
    (sub,) = await subs.for_guild(GUILD_A)
    assert sub.broken and sub.broken_reason == "Unknown Channel"
    await subs.repair(CHANNEL_A)
    assert subs.targets_for(matcher.match(item)[0]) == [f"channel:{CHANNEL_A}"]


@pytest.mark.parametrize("bad", ["", "   ", "@everyone", "x" * 101, "!!!"])
async def test_bad_company_names_are_refused(subs: Subscriptions, bad: str) -> None:
    """Empty, overlong, symbol-only and mention names are refused with a reason."""
    with pytest.raises(SubscriptionError):
        await subs.subscribe(GUILD_A, CHANNEL_A, bad)


async def test_suggestions_at_most_25(subs: Subscriptions) -> None:
    """Autocomplete offers at most 25 names, prefix matches first."""
    await subs.import_text(GUILD_A, CHANNEL_A, "\n".join(f"Acme {i}" for i in range(40)))
    names = await subs.suggestions(GUILD_A, "acme")
    assert len(names) == 25 and all(n.startswith("Acme") for n in names)
    assert await subs.suggestions(GUILD_B, "acme") == []
