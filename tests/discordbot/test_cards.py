"""Incident cards in Discord: per-channel filters set with /alerts settings, and /lookup's
full card, through the real discord.py client on the fake Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.service.app import subscribed_pipeline
from scrapers.http import Fetcher, FetchPolicy
from tests.discordbot.conftest import Harness
from tests.discordbot.test_delivery import Flow, serve
from tests.support.localserver import LocalServer


@pytest.fixture
async def flow(running: Harness, web: LocalServer) -> AsyncIterator[Flow]:
    """A poll of one local feed and an outbox to the fake's channels, routed by subscriptions."""
    async with Fetcher(FetchPolicy(retries=0, host_spacing=0.0)) as fetcher:
        f = Flow(running, web, fetcher)
        f.pipeline = await subscribed_pipeline(f.config, running.store, fetcher, running.subs)
        yield f


def _fields(message: dict[str, object]) -> dict[str, str]:
    embed = message["embeds"][0]  # type: ignore[index]
    return {f["name"]: f["value"] for f in embed["fields"]}


async def test_a_channel_filter_holds_an_unknown_count_until_a_report_gives_one(
    flow: Flow,
    web: LocalServer,
) -> None:
    """#alerts wants 5,000 affected: the first report (no count) goes to #general only; the
    report of 8,500 people edits #general's alert and is #alerts' first alert. #news-b,
    wanting health data, hears nothing."""
    h = flow.h
    serve(web, "bleepingcomputer.xml", "bleepingcomputer-count.xml")
    answer = await h.fake.slash(
        h.guild_a, h.general_a, "alerts", "settings",
        options={"min_affected": 5000, "channel": h.alerts_a}, manage_guild=True,
    )  # fmt: skip
    assert answer.ephemeral()
    assert (
        f"<#{h.alerts_a.id}> hears of incidents with at least 5,000 affected (unknown counts held back)"
        in (answer.text())
    )
    health = await h.fake.slash(
        h.guild_b, h.news_b, "alerts", "settings",
        options={"data": "health, medical"}, manage_guild=True,
    )  # fmt: skip
    assert f"<#{h.news_b.id}> hears of incidents whose data involves health" in health.text()
    for guild, channel in (
        (h.guild_a, h.alerts_a),
        (h.guild_a, h.general_a),
        (h.guild_b, h.news_b),
    ):
        await h.subs.subscribe(guild.id, channel.id, "Casio")
    await h.subs.refresh()

    assert await flow.poll_and_deliver() == 1
    general = h.fake.channel(h.general_a.id)
    alerts = h.fake.channel(h.alerts_a.id)
    news = h.fake.channel(h.news_b.id)
    assert general is not None and alerts is not None and news is not None
    assert len(general.messages) == 1 and alerts.messages == [] and news.messages == []
    assert _fields(general.messages[0])["Attack"] == "ransomware"

    assert await flow.poll_and_deliver() >= 2
    (edited,) = general.messages
    assert edited["edits"] >= 1
    assert _fields(edited)["Affected"] == "8,500 people"
    # #alerts' first message announces the incident (not an "Update:"); the other new story of
    # that poll edits it rather than posting a second alert.
    (late,) = alerts.messages
    assert _fields(late)["Affected"] == "8,500 people"
    (announced,) = h.fake.received("POST", rf"/channels/{h.alerts_a.id}/messages")
    assert not announced.body["embeds"][0]["title"].startswith("Update")
    assert news.messages == []


async def test_filters_are_shown_and_cleared_and_a_bad_one_is_refused(
    flow: Flow,
) -> None:
    """/alerts settings shows this channel's filter, refuses an unknown data category with the
    list of known ones, and clear_filters lets every incident through again."""
    h = flow.h
    bad = await h.fake.slash(
        h.guild_a, h.alerts_a, "alerts", "settings", options={"data": "blood type"},
        manage_guild=True,
    )  # fmt: skip
    assert bad.ephemeral() and "Unknown data category 'blood type'" in bad.text()
    assert "government_id" in bad.text()
    both = await h.fake.slash(
        h.guild_a, h.alerts_a, "alerts", "settings",
        options={"min_affected": 100000, "unknown_affected": "alert", "data": "ssn"},
        manage_guild=True,
    )  # fmt: skip
    assert (
        "incidents with at least 100,000 affected (unknown counts let through) and whose data"
        " involves government_id" in both.text()
    )
    assert (await h.subs.channel_filter(h.alerts_a.id)).data == {"government_id"}
    cleared = await h.fake.slash(
        h.guild_a, h.alerts_a, "alerts", "settings", options={"clear_filters": True},
        manage_guild=True,
    )  # fmt: skip
    assert "hears of every incident" in cleared.text()
    assert not (await h.subs.channel_filter(h.alerts_a.id)).active


async def test_lookup_shows_an_incidents_full_card(flow: Flow, web: LocalServer) -> None:
    """/lookup of a company with one incident shows its card with who said what; an unknown
    incident number is a short error."""
    h = flow.h
    serve(web, "bleepingcomputer.xml", "bleepingcomputer-count.xml")
    await h.subs.subscribe(h.guild_a.id, h.general_a.id, "Casio")
    await flow.poll_and_deliver()
    await flow.poll_and_deliver()
    answer = await h.fake.slash(h.guild_a, h.general_a, "lookup", options={"company": "Casio"})
    embed = answer.followups[0]["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Affected"].startswith("8,500 people")
    assert "reported by bleepingcomputer" in fields["Affected"]
    assert fields["Attack"].startswith("ransomware")
    assert fields["Timeline"].startswith("Reported <t:")
    assert "[bleepingcomputer](https://www.bleepingcomputer.com/" in fields["Timeline"]
    assert fields["Sources (3)"].count("[bleepingcomputer](") == 3
    number = embed["footer"]["text"].rsplit(" ", 1)[1]
    again = await h.fake.slash(
        h.guild_a, h.general_a, "lookup", options={"company": "Casio", "incident": int(number)}
    )
    assert again.followups[0]["embeds"][0]["title"] == embed["title"]
    missing = await h.fake.slash(
        h.guild_a, h.general_a, "lookup", options={"company": "Casio", "incident": 999}
    )
    assert "No incident 999 about Casio" in missing.text()
