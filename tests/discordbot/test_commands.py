"""Slash commands, run by the real discord.py client against the fake Discord."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from bot.discordbot.client import COMMANDS_HASH_KEY, all_command_names
from bot.subscriptions import COMPANIES_VERSION, SUBSCRIPTIONS_VERSION
from bot.subscriptions.discovery import feed_finder
from scrapers.models import Disclosure, Evidence
from tests.discordbot.conftest import Harness
from tests.support.localserver import LocalServer, Response


async def watch(h: Harness, company: str, channel: object = None) -> None:
    options: dict[str, object] = {"company": company}
    if channel is not None:
        options["channel"] = channel
    answer = await h.fake.slash(
        h.guild_a, h.alerts_a, "watch", "add", options=options, manage_guild=True
    )
    assert "watches" in answer.text(), answer.text()


async def incident(h: Harness, company: str, title: str, url: str, evidence: Evidence) -> int:
    item = Disclosure(
        source="bleepingcomputer",
        url=url,
        title=title,
        evidence=evidence,
        published=datetime(2024, 10, 8, 14, 0, tzinfo=UTC),
    )
    await h.store.add_disclosures([item])
    incident_id, _ = await h.store.record_match(
        item,
        company_key=company.casefold(),
        company_name=company,
        matched=[company],
        reason="test",
        incident_id=None,
    )
    return incident_id


# -- /watch ----------------------------------------------------------------------------------


async def test_watch_add_subscribes_this_channel(running: Harness) -> None:
    """/watch add company subscribes the current channel and says so, ephemerally."""
    h = running
    answer = await h.fake.slash(
        h.guild_a,
        h.alerts_a,
        "watch",
        "add",
        options={"company": "ticketmaster"},
        manage_guild=True,
    )
    assert answer.ephemeral()
    assert "now watches **Ticketmaster**" in answer.text()
    (sub,) = await h.subs.for_guild(h.guild_a.id)
    assert (sub.channel_id, sub.company_name) == (h.alerts_a.id, "Ticketmaster")


async def test_watch_add_to_another_channel_with_aliases(running: Harness) -> None:
    """An unknown company with aliases is added for the channel given as an option."""
    h = running
    answer = await h.fake.slash(
        h.guild_a,
        h.general_a,
        "watch",
        "add",
        options={"company": "Casio", "channel": h.alerts_a, "aliases": "CASIO COMPUTER, カシオ"},
        manage_guild=True,
    )
    assert f"<#{h.alerts_a.id}> now watches **Casio**" in answer.text()
    companies = {c.name: c for c in await h.subs.all_companies()}
    assert companies["Casio"].aliases == ("CASIO COMPUTER", "カシオ")


async def test_watch_add_rejects_a_blank_name(running: Harness) -> None:
    """A name with no letters gets a short ephemeral reason and changes nothing."""
    h = running
    answer = await h.fake.slash(
        h.guild_a, h.alerts_a, "watch", "add", options={"company": " !!! "}, manage_guild=True
    )
    assert answer.ephemeral()
    assert "at least one letter or digit" in answer.text()
    assert await h.subs.for_guild(h.guild_a.id) == []


async def test_changing_needs_manage_server(running: Harness) -> None:
    """Without Manage Server, /watch add is refused in code even if Discord let it through."""
    h = running
    answer = await h.fake.slash(
        h.guild_a, h.alerts_a, "watch", "add", options={"company": "MoneyGram"}, manage_guild=False
    )
    assert answer.ephemeral()
    assert "Manage Server" in answer.text()
    assert await h.subs.for_guild(h.guild_a.id) == []
    watch_cmd = next(c for c in h.fake.global_commands if c["name"] == "watch")
    assert int(watch_cmd["default_member_permissions"]) == 1 << 5  # Manage Server


async def test_watch_remove(running: Harness) -> None:
    """/watch remove drops the subscription; an unknown one gets an error."""
    h = running
    await watch(h, "MoneyGram")
    answer = await h.fake.slash(
        h.guild_a,
        h.alerts_a,
        "watch",
        "remove",
        options={"company": "moneygram"},
        manage_guild=True,
    )
    assert "Stopped watching" in answer.text()
    assert await h.subs.for_guild(h.guild_a.id) == []
    again = await h.fake.slash(
        h.guild_a,
        h.alerts_a,
        "watch",
        "remove",
        options={"company": "moneygram"},
        manage_guild=True,
    )
    assert again.ephemeral() and "No channel here watches moneygram" in again.text()


async def test_watch_list_shows_broken_channels(running: Harness) -> None:
    """/watch list names each channel's companies and flags one whose alerts are paused."""
    h = running
    await watch(h, "Ticketmaster")
    await watch(h, "MoneyGram", h.general_a)
    await h.subs.mark_broken(
        h.general_a.id, "the bot may not post or embed in the channel", code=50013
    )
    answer = await h.fake.slash(h.guild_a, h.alerts_a, "watch", "list", manage_guild=True)
    text = answer.text()
    assert f"<#{h.alerts_a.id}>: Ticketmaster" in text
    assert "alerts paused: the bot may not post or embed in the channel" in text
    assert text.count("alerts paused") == 1


async def test_watch_import_adds_hundreds_and_reports_skips(running: Harness) -> None:
    """/watch import reads an attached CSV of vendors and reports added and skipped lines."""
    h = running
    await watch(h, "Ticketmaster")
    rows = ["vendor,alias", "Ticketmaster", "Casio,CASIO COMPUTER", "casio"]
    rows += [f"Supplier {i:03d} Ltd" for i in range(300)]
    attachment = h.fake.attach("vendors.csv", ("\n".join(rows) + "\n").encode(), "text/csv")
    before = await h.store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION)
    answer = await h.fake.slash(
        h.guild_a, h.alerts_a, "watch", "import", options={"file": attachment}, manage_guild=True
    )
    assert answer.callbacks[0]["type"] == 5  # deferred first: downloads can be slow
    # One change announced for the whole file: every process reloads its routing once.
    after = await h.store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION)
    assert after == (before[0] + 1, before[1] + 1)
    text = answer.text()
    assert "Added 301, skipped 2" in text
    assert "Skipped Ticketmaster: already watched here" in text
    assert "Skipped casio: listed twice" in text
    assert len(await h.subs.for_guild(h.guild_a.id)) == 302
    # Every skipped line is in the attached report, numbered as in the file.
    (report,) = [r.files["import-report.txt"] for r in h.fake.requests if r.files]
    assert report.decode() == (
        "line 2: Ticketmaster: already watched here\n"
        "line 4: casio: listed twice (first on line 3)\n"
    )


async def test_watch_import_of_the_same_file_again_adds_nothing(running: Harness) -> None:
    """A retry of an import (the same file again) reports every line as already watched."""
    h = running
    rows = "\n".join([f"Vendor {i:04d}" for i in range(1200)] + ["Casio"])
    attachment = h.fake.attach("vendors.txt", rows.encode(), "text/plain; charset=utf-8")

    async def run() -> str:
        answer = await h.fake.slash(
            h.guild_a, h.alerts_a, "watch", "import", options={"file": attachment},
            manage_guild=True,
        )  # fmt: skip
        return answer.text()

    assert "Added 1201, skipped 0" in await run()
    assert "Added 0, skipped 1201" in await run()
    subs = await h.subs.for_guild(h.guild_a.id)
    assert len(subs) == 1201 and len({s.company_key for s in subs}) == 1201


async def test_watch_import_refuses_binary(running: Harness) -> None:
    """A file that is not UTF-8 text is refused with a reason."""
    h = running
    attachment = h.fake.attach("vendors.xlsx", b"PK\x03\x04\xff\xfe\x00binary", "application/zip")
    answer = await h.fake.slash(
        h.guild_a, h.alerts_a, "watch", "import", options={"file": attachment}, manage_guild=True
    )
    assert answer.ephemeral() and "plain text or CSV" in answer.text()
    assert await h.subs.for_guild(h.guild_a.id) == []


async def test_autocomplete_offers_known_companies_and_disclosures(running: Harness) -> None:
    """Autocomplete suggests watchlist companies and companies of earlier incidents, <= 25."""
    h = running
    await incident(
        h,
        "Change Healthcare",
        "Change Healthcare cyberattack",
        "https://x.test/1",
        Evidence.CONFIRMED,
    )
    await h.subs.import_text(
        h.guild_a.id, h.alerts_a.id, "\n".join(f"Acme Chan {i}" for i in range(40))
    )
    choices = await h.fake.autocomplete(
        h.guild_a, h.alerts_a, "watch", "add", focused="company", value="chan"
    )
    names = [c["name"] for c in choices]
    assert len(names) == 25
    assert names[0] == "Change Healthcare"  # names that start with the typed text first
    other = await h.fake.autocomplete(
        h.guild_b, h.news_b, "watch", "add", focused="company", value="chan"
    )
    assert [c["name"] for c in other] == ["Change Healthcare"]  # guild A's own list stays there


# -- /lookup and /latest -----------------------------------------------------------------------


async def test_lookup_pages_with_buttons(running: Harness) -> None:
    """/lookup lists incidents newest first, five a page, and Next shows the next page."""
    h = running
    for day in range(7):
        await incident(
            h,
            "Ticketmaster",
            f"Ticketmaster breach update {day}",
            f"https://x.test/tm{day}",
            Evidence.REPORTED,
        )
    answer = await h.fake.slash(
        h.guild_a, h.general_a, "lookup", options={"company": "live nation"}
    )
    assert answer.callbacks[0]["type"] == 5
    first = answer.followups[0]
    embed = first["embeds"][0]
    assert embed["footer"]["text"].startswith("Page 1 of 2")
    assert len(embed["fields"]) == 5
    assert "reported" in embed["fields"][0]["value"]
    assert "[bleepingcomputer](https://x.test/tm" in embed["fields"][0]["value"]
    buttons = [c["custom_id"] for row in first["components"] for c in row["components"]]
    assert buttons == ["lookup:previous", "lookup:next"]
    click = await h.fake.click(h.guild_a, h.general_a, answer.followup_messages[0], "lookup:next")
    assert click.callbacks[0]["type"] == 7
    page2 = click.callbacks[0]["data"]["embeds"][0]
    assert page2["footer"]["text"].startswith("Page 2 of 2")
    assert len(page2["fields"]) == 2


async def test_lookup_names_each_source_as_written(harness: Harness) -> None:
    """/lookup shows the source by the name the operator wrote, not its database key, in
    the sources and in the card's timeline (who reported it)."""
    h = harness
    await h.start_bot(source_labels={"bleepingcomputer": "Bleeping *Computer* 🔥"})
    await incident(h, "Casio", "Casio ransomware attack", "https://x.test/casio", Evidence.REPORTED)
    answer = await h.fake.slash(h.guild_a, h.general_a, "lookup", options={"company": "Casio"})
    # The only incident there is: its full card, its sources in a field of their own.
    embed = answer.followups[0]["embeds"][0]
    [value] = [f["value"] for f in embed["fields"] if f["name"].startswith("Sources")]
    assert "[Bleeping \\*Computer\\* 🔥](https://x.test/casio)" in value
    assert "bleepingcomputer" not in json.dumps(embed)


async def test_lookup_of_unknown_company_says_nothing_found(running: Harness) -> None:
    """/lookup of a company never seen answers that the database knows nothing."""
    h = running
    answer = await h.fake.slash(h.guild_a, h.general_a, "lookup", options={"company": "Nobody Inc"})
    assert "Nothing in the database" in answer.text()


async def test_lookup_rejects_a_mention(running: Harness) -> None:
    """/lookup of '@everyone' is refused, and nothing is posted."""
    h = running
    answer = await h.fake.slash(h.guild_a, h.general_a, "lookup", options={"company": "@everyone"})
    assert answer.ephemeral() and "cannot contain mentions" in answer.text()


async def test_latest_shows_this_servers_incidents_only(running: Harness) -> None:
    """/latest lists recent incidents of companies watched here, not other servers'."""
    h = running
    await watch(h, "MoneyGram")
    await incident(
        h, "MoneyGram", "MoneyGram confirms cyberattack", "https://x.test/mg", Evidence.CONFIRMED
    )
    await incident(h, "Ticketmaster", "Ticketmaster breach", "https://x.test/tm", Evidence.REPORTED)
    answer = await h.fake.slash(h.guild_a, h.general_a, "latest", options={"days": 7})
    text = answer.text()
    assert "1 incidents" in text and "MoneyGram confirms cyberattack" in text
    assert "Ticketmaster" not in text
    other = await h.fake.slash(h.guild_b, h.news_b, "latest")
    assert "No incidents" in other.text()


async def test_latest_rejects_out_of_range_days(running: Harness) -> None:
    """/latest days:0 gets a short ephemeral error."""
    h = running
    answer = await h.fake.slash(h.guild_a, h.general_a, "latest", options={"days": 0})
    assert answer.ephemeral() and "between 1 and 90" in answer.text()


# -- /sources ------------------------------------------------------------------------------------


async def test_sources_show_health(running: Harness) -> None:
    """/sources show reports each source's state, failures included."""
    h = running
    await h.store.record_success("bleepingcomputer", items=12, validators=None, next_poll_at=None)
    await h.store.record_failure("sec-8k", "HTTP 503 from https://www.sec.gov/", next_poll_at=None)
    answer = await h.fake.slash(h.guild_a, h.general_a, "sources", "show")
    text = answer.text()
    assert "Sources: 2 (1 failing)" in text
    assert "**bleepingcomputer**: ok, 12 items" in text
    assert "**sec\\-8k**: failing (1x)" in text


async def test_sources_show_names_sources_as_written_and_escaped(harness: Harness) -> None:
    """The operator's display names, not keys; markdown and mentions in them stay inert."""
    h = harness
    await h.start_bot(
        source_names=("dark-reading", "kadokawa-news"),
        source_labels={
            "dark-reading": "Dark *Reading* `@everyone`",
            "kadokawa-news": "KADOKAWA ニュース",
        },
    )
    await h.store.record_success("dark-reading", items=3, validators=None, next_poll_at=None)
    text = (await h.fake.slash(h.guild_a, h.general_a, "sources", "show")).text()
    assert "**KADOKAWA ニュース**: not polled yet" in text
    assert "**Dark \\*Reading\\* \\`@\u200beveryone\\`**: ok, 3 items" in text
    assert "dark-reading" not in text


async def test_sources_add_refuses_private_addresses(running: Harness, web: LocalServer) -> None:
    """A loopback URL is refused by the private-address guard; nothing is fetched or stored."""
    h = running
    web.route("/feed.xml", Response(200, b"<rss/>", {"Content-Type": "application/rss+xml"}))
    answer = await h.fake.slash(
        h.guild_a,
        h.general_a,
        "sources",
        "add",
        options={"url": "http://127.0.0.1/feed.xml"},
        manage_guild=True,
    )
    assert "not a public address" in answer.text()
    assert await h.subs.sources(h.guild_a.id) == []
    odd_port = await h.fake.slash(
        h.guild_a,
        h.general_a,
        "sources",
        "add",
        options={"url": web.url("/feed.xml")},
        manage_guild=True,
    )
    assert "standard ports" in odd_port.text()
    assert web.received() == []


async def test_sources_add_rejects_other_schemes(running: Harness) -> None:
    """Only http and https URLs are accepted."""
    h = running
    answer = await h.fake.slash(
        h.guild_a,
        h.general_a,
        "sources",
        "add",
        options={"url": "file:///etc/passwd"},
        manage_guild=True,
    )
    assert answer.ephemeral() and "http:// or https://" in answer.text()


# -- /alerts -------------------------------------------------------------------------------------


async def test_alerts_settings_and_test_ping_only_the_role(running: Harness) -> None:
    """Settings store role and threshold; /alerts test pings that role and nobody else."""
    h = running
    role = h.guild_a.add_role("breach-watch")
    # The bot learns of the new role through the gateway, as with a real server.
    await h.fake.dispatch_event(
        "GUILD_ROLE_CREATE",
        {
            "guild_id": str(h.guild_a.id),
            "role": next(r for r in h.guild_a.payload()["roles"] if r["id"] == str(role.id)),
        },
    )
    answer = await h.fake.slash(
        h.guild_a, h.general_a, "alerts", "settings",
        options={"role": role, "min_evidence": "reported", "mode": "instant"}, manage_guild=True,
    )  # fmt: skip
    assert f"Saved. Alerts mention <@&{role.id}>, from **reported** evidence up" in answer.text()
    settings = await h.subs.settings(h.guild_a.id)
    assert (settings.mention_role_id, settings.min_evidence) == (role.id, Evidence.REPORTED)
    assert (await h.subs.settings(h.guild_b.id)).mention_role_id is None
    test = await h.fake.slash(h.guild_a, h.general_a, "alerts", "test", manage_guild=True)
    assert "Sample alert posted" in test.text()
    (posted,) = h.fake.received("POST", rf"/channels/{h.general_a.id}/messages")
    assert posted.body["content"] == f"<@&{role.id}>"
    allowed = posted.body["allowed_mentions"]
    assert allowed["parse"] == [] and [int(r) for r in allowed["roles"]] == [role.id]


async def test_alerts_settings_rejects_contradiction(running: Harness) -> None:
    """A role together with clear_role is refused."""
    h = running
    role = h.guild_a.add_role("x")
    await h.fake.dispatch_event(
        "GUILD_ROLE_CREATE",
        {
            "guild_id": str(h.guild_a.id),
            "role": next(r for r in h.guild_a.payload()["roles"] if r["id"] == str(role.id)),
        },
    )
    answer = await h.fake.slash(
        h.guild_a,
        h.general_a,
        "alerts",
        "settings",
        options={"role": role, "clear_role": True},
        manage_guild=True,
    )
    assert answer.ephemeral() and "not both" in answer.text()


async def test_alerts_test_in_unwritable_channel_says_why(harness: Harness) -> None:
    """/alerts test in a channel the bot may not post to explains the missing permissions."""
    h = harness
    locked = h.guild_a.add_channel("locked", writable=False)
    await h.start_bot()
    answer = await h.fake.slash(h.guild_a, locked, "alerts", "test", manage_guild=True)
    assert "I cannot post here" in answer.text()


# -- isolation, sync, start-up ----------------------------------------------------------------


async def test_two_servers_are_isolated(running: Harness) -> None:
    """Server B neither sees nor removes server A's subscriptions."""
    h = running
    await watch(h, "MoneyGram")
    listing = await h.fake.slash(h.guild_b, h.news_b, "watch", "list", manage_guild=True)
    assert "Nothing is watched here yet" in listing.text()
    removal = await h.fake.slash(
        h.guild_b, h.news_b, "watch", "remove", options={"company": "MoneyGram"}, manage_guild=True
    )
    assert "No channel here watches" in removal.text()
    assert [s.company_name for s in await h.subs.for_guild(h.guild_a.id)] == ["MoneyGram"]


async def test_commands_sync_only_when_changed(harness: Harness) -> None:
    """The first start syncs; a restart with the same definitions does not."""
    h = harness
    bot = await h.start_bot()
    assert bot.synced and len(h.fake.received("PUT", r"/applications/\d+/commands")) == 1
    assert await h.store.get_meta(COMMANDS_HASH_KEY) == bot.commands_hash()
    await h.stop_bot()
    bot = await h.start_bot()
    assert not bot.synced
    assert len(h.fake.received("PUT", r"/applications/\d+/commands")) == 1


async def test_dev_guild_sync(harness: Harness) -> None:
    """--dev-guild syncs the commands to that guild only."""
    h = harness
    await h.start_bot(dev_guild=h.guild_a.id)
    assert h.fake.received("PUT", r"/applications/\d+/commands") == []
    names = {c["name"] for c in h.fake.guild_commands[h.guild_a.id]}
    assert names == {"watch", "lookup", "latest", "sources", "alerts"}


async def test_startup_marks_missing_and_unwritable_channels(harness: Harness) -> None:
    """At start, a deleted or unwritable subscribed channel is reported and paused."""
    h = harness
    locked = h.guild_a.add_channel("locked", writable=False)
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Ticketmaster")
    await h.subs.subscribe(h.guild_a.id, locked.id, "Ticketmaster")
    await h.subs.subscribe(h.guild_a.id, 4242, "MoneyGram")  # a channel deleted meanwhile
    bot = await h.start_bot()
    await asyncio.wait_for(bot.channels_checked.wait(), 10)
    assert sorted(bot.channel_problems) == sorted(
        [
            # Discord's rules: without Send Messages, Embed Links is lost too.
            f"channel {locked.id}: the bot lacks send messages, embed links",
            "channel 4242: the channel was deleted",
        ]
    )
    status = {s.channel_id: s.status for s in await h.subs.for_guild(h.guild_a.id)}
    assert status == {h.alerts_a.id: "ok", locked.id: "broken", 4242: "broken"}


async def test_all_cogs_load_and_names_do_not_clash(running: Harness) -> None:
    """Every cog loads and every command has a distinct name."""
    assert running.bot is not None
    names = all_command_names(running.bot)
    assert len(names) == len(set(names))
    assert set(names) >= {
        "watch add", "watch remove", "watch list", "watch import", "lookup", "latest",
        "sources show", "sources add", "alerts settings", "alerts test",
    }  # fmt: skip
    assert set(running.bot.cogs) == {"Watch", "Lookup", "Sources", "Alerts"}


async def test_sources_add_finds_the_feed_of_a_page(harness: Harness, web: LocalServer) -> None:
    """/sources add with a newsroom page finds its Atom feed and keeps it for this server only.

    The test server is on loopback, so this bot is built with a finder that allows it;
    the guard itself is covered by test_sources_add_refuses_private_addresses.
    """
    h = harness
    web.serve_file("/newsroom", "discord/company-page.html", "text/html; charset=utf-8")
    web.serve_file("/newsroom/feed.xml", "discord/company-feed.xml", "application/atom+xml")
    await h.start_bot(find_feed=feed_finder(h.fetcher, allow_private=True))
    answer = await h.fake.slash(
        h.guild_a,
        h.general_a,
        "sources",
        "add",
        options={"url": web.url("/newsroom")},
        manage_guild=True,
    )
    assert answer.callbacks[0]["type"] == 5  # deferred: fetching takes time
    assert "Example Corp press releases (1 entries now)" in answer.text()
    (source,) = await h.subs.sources(h.guild_a.id)
    assert source.feed_url == web.url("/newsroom/feed.xml")
    assert await h.subs.sources(h.guild_b.id) == []
    shown = await h.fake.slash(h.guild_b, h.news_b, "sources", "show")
    assert source.feed_url not in shown.text()


async def test_watch_add_warns_when_the_bot_cannot_post(harness: Harness) -> None:
    """Subscribing a channel the bot may not post in works but says what to fix."""
    h = harness
    locked = h.guild_a.add_channel("locked", writable=False)
    await h.start_bot()
    answer = await h.fake.slash(
        h.guild_a, h.general_a, "watch", "add",
        options={"company": "MoneyGram", "channel": locked}, manage_guild=True,
    )  # fmt: skip
    assert f"<#{locked.id}> now watches **MoneyGram**" in answer.text()
    assert "give me Send Messages, Embed Links" in answer.text()
