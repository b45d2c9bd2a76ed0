"""Alerts from a local feed through a poll and the outbox to a channel on the fake Discord."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.embeds import EVIDENCE_COLOUR
from bot.delivery import Outbox
from bot.discordbot.channel_sink import ChannelSink
from bot.discordbot.digests import DigestSender
from bot.service.app import subscribed_pipeline
from bot.service.guild_feeds import GuildFeeds
from bot.service.pipeline import Pipeline
from bot.settings import Config, Settings
from scrapers.base import SourceSpec
from scrapers.http import Fetcher, FetchPolicy
from tests.discordbot.conftest import WATCHLIST, Harness
from tests.support.localserver import LocalServer, Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "discord"
CASIO_URL = (
    "https://www.bleepingcomputer.com/news/security/"
    "casio-says-ransomware-attack-exposed-data-of-employees-and-partners/"
)


class Flow:
    """A pipeline polling one local feed, and an outbox delivering to the fake's channels."""

    def __init__(self, h: Harness, web: LocalServer, fetcher: Fetcher) -> None:
        self.h = h
        self.spec = SourceSpec(
            name="bleepingcomputer", kind="rss", url=web.url("/feed"), allow_private=True
        )
        settings = Settings(database="sqlite+aiosqlite://", max_alert_age=None, jitter=0.0)
        self.config = Config(Path("."), (self.spec,), WATCHLIST, settings)
        self.pipeline = Pipeline(self.config, h.store, fetcher)
        assert h.bot is not None
        self.sink = ChannelSink(h.bot, h.subs)
        self.outbox = Outbox(h.store, {}, routes={"channel:": self.sink}, max_inline_wait=5.0)

    async def poll_and_deliver(self) -> int:
        result = await self.pipeline.poll(self.spec)
        assert result.ok, result.error
        report = await self.outbox.flush()
        return report.sent


@pytest.fixture
async def flow(running: Harness, web: LocalServer) -> AsyncIterator[Flow]:
    async with Fetcher(FetchPolicy(retries=0, host_spacing=0.0)) as fetcher:
        f = Flow(running, web, fetcher)
        f.pipeline = await subscribed_pipeline(f.config, running.store, fetcher, running.subs)
        yield f


def serve(web: LocalServer, *names: str) -> None:
    web.route(
        "/feed",
        *(
            Response(200, (FIXTURES / n).read_bytes(), {"Content-Type": "application/rss+xml"})
            for n in names
        ),
    )


async def test_feed_item_becomes_a_channel_alert(flow: Flow, web: LocalServer) -> None:
    """A company added with /watch add is matched in a feed and alerted with a full embed."""
    h = flow.h
    serve(web, "bleepingcomputer.xml")
    await h.fake.slash(
        h.guild_a, h.general_a, "watch", "add",
        options={"company": "Casio", "channel": h.alerts_a}, manage_guild=True,
    )  # fmt: skip
    assert await flow.poll_and_deliver() == 1
    (message,) = h.fake.channel(h.alerts_a.id).messages  # type: ignore[union-attr]
    embed = message["embeds"][0]
    assert embed["title"] == "Casio says ransomware attack exposed data of employees and partners"
    assert embed["url"] == CASIO_URL
    assert embed["color"] == EVIDENCE_COLOUR["reported"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Company"] == "Casio"
    assert fields["Evidence"] == "reported"
    assert fields["Published"] == "<t:1728412867:f>"  # 2024-10-08 14:41:07 EDT
    assert fields["First seen"].startswith("<t:")
    assert fields["Sources (1)"] == f"[bleepingcomputer]({CASIO_URL})"
    assert fields["Why it matched"].startswith("names 'Casio'; about ransomware")
    assert message["content"] == ""
    assert h.fake.channel(h.general_a.id).messages == []  # type: ignore[union-attr]
    assert h.fake.channel(h.news_b.id).messages == []  # type: ignore[union-attr]
    # A second poll finds nothing new and posts nothing.
    assert await flow.poll_and_deliver() == 0
    assert len(h.fake.channel(h.alerts_a.id).messages) == 1  # type: ignore[union-attr]


async def test_follow_up_edits_the_original_alert(flow: Flow, web: LocalServer) -> None:
    """A later story about the same incident updates the alert in place, not a new post."""
    h = flow.h
    serve(web, "bleepingcomputer.xml", "bleepingcomputer-later.xml")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Casio")
    await flow.poll_and_deliver()
    await flow.poll_and_deliver()
    channel = h.fake.channel(h.alerts_a.id)
    assert channel is not None
    (message,) = channel.messages
    assert message["edits"] == 1
    embed = message["embeds"][0]
    assert embed["title"].startswith("Update: ")
    assert "Sources (2)" in [f["name"] for f in embed["fields"]]
    assert len(h.fake.received("PATCH", rf"/channels/{h.alerts_a.id}/messages/\d+")) == 1


async def test_rate_limit_and_server_error_post_exactly_once(flow: Flow, web: LocalServer) -> None:
    """A 429 and a 500 (after Discord already stored the message) still yield one message."""
    h = flow.h
    serve(web, "bleepingcomputer.xml")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Casio")
    path = rf"/channels/{h.alerts_a.id}/messages"
    h.fake.fail("POST", path, 429, retry_after=0.05)
    h.fake.fail("POST", path, 500, commit=True)
    assert await flow.poll_and_deliver() == 1
    posts = h.fake.received("POST", path)
    assert [p.status for p in posts] == [429, 500, 200]
    assert {p.body["nonce"] for p in posts} == {posts[0].body["nonce"]}
    assert all(p.body["enforce_nonce"] is True for p in posts)
    assert len(h.fake.channel(h.alerts_a.id).messages) == 1  # type: ignore[union-attr]


async def test_lost_permission_marks_broken_and_stops(flow: Flow, web: LocalServer) -> None:
    """A 403 (Missing Permissions) pauses the channel, shows in /watch list, is not retried."""
    h = flow.h
    serve(web, "bleepingcomputer.xml", "bleepingcomputer-later.xml")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Casio")
    h.alerts_a.writable = False
    assert await flow.poll_and_deliver() == 0
    assert (await h.store.delivery_counts()) == {"dead": 1}
    listing = await h.fake.slash(h.guild_a, h.general_a, "watch", "list", manage_guild=True)
    assert "alerts paused: the bot may not post or embed in the channel" in listing.text()
    await flow.poll_and_deliver()
    assert len(h.fake.received("POST", rf"/channels/{h.alerts_a.id}/messages")) == 1


async def test_everyone_in_a_title_pings_nobody(flow: Flow, web: LocalServer) -> None:
    """Scraped '@everyone', role mentions and markdown are defused; only the set role pings."""
    h = flow.h
    serve(web, "hostile.xml")
    role = h.guild_a.add_role("security-team")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "MoneyGram")
    await h.subs.update_settings(h.guild_a.id, mention_role_id=role.id)
    assert await flow.poll_and_deliver() == 1
    (post,) = h.fake.received("POST", rf"/channels/{h.alerts_a.id}/messages")
    body = post.body
    assert body["allowed_mentions"]["parse"] == []
    assert [int(r) for r in body["allowed_mentions"]["roles"]] == [role.id]
    assert body["content"] == f"<@&{role.id}>"
    embed_text = json.dumps(body["embeds"], ensure_ascii=False)
    for live in ("@everyone", "@here", "<@&123456789012345678>", "**ransomware**", "||spoiler||"):
        assert live not in embed_text
    assert body["embeds"][0]["title"].startswith("@\u200beveryone MoneyGram data breach")


async def test_below_threshold_is_not_posted(flow: Flow, web: LocalServer) -> None:
    """A server that wants confirmed incidents only gets no alert for a news report."""
    h = flow.h
    serve(web, "bleepingcomputer.xml")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Casio")
    await h.subs.subscribe(h.guild_b.id, h.news_b.id, "Casio")
    from scrapers.models import Evidence

    await h.subs.update_settings(h.guild_a.id, min_evidence=Evidence.CONFIRMED)
    await flow.poll_and_deliver()
    assert h.fake.channel(h.alerts_a.id).messages == []  # type: ignore[union-attr]
    assert len(h.fake.channel(h.news_b.id).messages) == 1  # type: ignore[union-attr]


async def test_server_feed_alerts_only_that_server(flow: Flow, web: LocalServer) -> None:
    """A feed one server added alerts that server's channels, not others' nor webhooks."""
    h = flow.h
    web.serve_file("/server-feed", "discord/bleepingcomputer.xml", "application/rss+xml")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Casio")
    await h.subs.subscribe(h.guild_b.id, h.news_b.id, "Casio")
    await h.subs.add_source(h.guild_a.id, web.url("/"), web.url("/server-feed"), "BC", None)
    feeds = GuildFeeds(flow.pipeline, h.subs, allow_private=True)  # loopback: tests only
    (result,) = await feeds.poll_due()
    assert result.ok and len(result.found) == 1
    assert (await flow.outbox.flush()).sent == 1
    assert len(h.fake.channel(h.alerts_a.id).messages) == 1  # type: ignore[union-attr]
    assert h.fake.channel(h.news_b.id).messages == []  # type: ignore[union-attr]
    assert await h.store.delivery_counts() == {"sent": 1}  # no webhook row either
    assert await feeds.poll_due() == []  # not due again for half an hour
    # Nor does /lookup show the other server what this server's feed found.
    theirs = await h.fake.slash(h.guild_b, h.news_b, "lookup", options={"company": "Casio"})
    assert "Nothing in the database" in theirs.text()
    ours = await h.fake.slash(h.guild_a, h.general_a, "lookup", options={"company": "Casio"})
    # One incident: /lookup shows its full card.
    assert "Casio says ransomware attack exposed data" in ours.text()
    assert "BreachRadar · incident" in ours.text()


async def test_server_feed_never_reaches_private_addresses(flow: Flow, web: LocalServer) -> None:
    """Without the test override a server's loopback feed is refused, even if the operator
    allows private addresses for the catalog."""
    h = flow.h
    web.serve_file("/server-feed", "discord/bleepingcomputer.xml", "application/rss+xml")
    await h.subs.add_source(h.guild_a.id, web.url("/"), web.url("/server-feed"), "BC", None)
    config = flow.pipeline.config
    flow.pipeline.config = replace(
        config, settings=replace(config.settings, allow_private_addresses=True)
    )
    (result,) = await GuildFeeds(flow.pipeline, h.subs).poll_due()
    assert not result.ok and result.error is not None
    assert web.received() == []


async def test_digest_mode_holds_alerts_for_a_daily_message(flow: Flow, web: LocalServer) -> None:
    """A server in digest mode gets no instant alert, then one digest message a day later."""
    h = flow.h
    serve(web, "bleepingcomputer.xml")
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Casio")
    await h.subs.update_settings(h.guild_a.id, mode="digest")
    await flow.poll_and_deliver()
    channel = h.fake.channel(h.alerts_a.id)
    assert channel is not None and channel.messages == []
    digests = DigestSender(flow.sink)
    assert await digests.send_due() == 0  # not a day old yet
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert await digests.send_due(tomorrow) == 1
    (message,) = channel.messages
    embed = message["embeds"][0]
    assert embed["title"] == "Daily digest: 1 incident"
    assert embed["fields"][0]["name"].startswith("Casio: Casio says ransomware attack")
    assert await digests.send_due(tomorrow) == 0
