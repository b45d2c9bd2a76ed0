"""Two bot processes, shards 0 and 1 of 2, on one fake Discord and one database.

Each is the real discord.py AutoShardedBot with its own store connections and its own
token, so the fake tells apart which client made each request. Guilds sit on both shards
(Discord's ``(guild_id >> 22) % 2``); every channel must get its alert exactly once, from
the client that runs its guild's shard, and every slash command must reach that client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.core.clock import utcnow
from bot.core.sharding import Sharding, shard_of
from bot.delivery import Outbox
from bot.discordbot.channel_sink import ChannelSink
from bot.discordbot.client import BotServices, ShardedBreachRadarBot
from bot.discordbot.connection import connection_problem
from bot.discordbot.digests import DigestSender
from bot.service.app import subscribed_pipeline
from bot.service.guild_feeds import GuildFeeds
from bot.service.pipeline import Pipeline
from bot.settings import Config, Settings
from bot.store import Store
from bot.store.schema import deliveries
from bot.subscriptions import Subscriptions
from scrapers.base import SourceSpec
from scrapers.http import Fetcher, FetchPolicy
from tests.discordbot.conftest import WATCHLIST
from tests.support.fake_discord import FakeChannel, FakeDiscord, FakeGuild
from tests.support.localserver import LocalServer, Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "discord"


class FastShardedBot(ShardedBreachRadarBot):
    """The real sharded bot, minus discord.py's 5-second pause between two IDENTIFYs."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@dataclass
class ShardProcess:
    """What one bot process holds: its client, store connections, index and outbox."""

    bot: FastShardedBot
    store: Store
    subs: Subscriptions
    token: str
    task: asyncio.Task[None] | None = None
    interactions: list[discord.Interaction[Any]] = field(default_factory=list)

    def outbox(self) -> Outbox:
        sink = ChannelSink(self.bot, self.subs, ready=self.bot.channels_checked)
        return Outbox(
            self.store, {}, owner=self.token, routes={"channel:": sink},
            target_prefix="channel:", shards=self.bot.served,
        )  # fmt: skip


@dataclass
class Cluster:
    fake: FakeDiscord
    db_url: str
    guilds: dict[int, list[FakeGuild]]  # by shard
    processes: list[ShardProcess] = field(default_factory=list)
    opened: list[Store] = field(default_factory=list)

    async def open_store(self) -> Store:
        store = await Store.open(self.db_url)
        self.opened.append(store)
        return store

    async def start(self, sharding: Sharding, token: str) -> ShardProcess:
        store = await self.open_store()
        subs = Subscriptions(store, WATCHLIST)
        await subs.load()
        services = BotServices(store=store, subscriptions=subs, source_health=store.source_health)
        bot = FastShardedBot(services, sharding=sharding, guild_ready_timeout=0.1)
        process = ShardProcess(bot, store, subs, token)

        async def seen(interaction: discord.Interaction[Any]) -> None:
            process.interactions.append(interaction)

        bot.add_listener(seen, "on_interaction")
        process.task = asyncio.create_task(bot.start(token))
        self.processes.append(process)
        await asyncio.wait_for(bot.wait_until_ready(), 20)
        await asyncio.wait_for(bot.channels_checked.wait(), 20)
        return process

    def channels(self, shard: int) -> list[FakeChannel]:
        return [c for g in self.guilds[shard] for c in g.channels.values()]

    async def close(self) -> None:
        for process in self.processes:
            await process.bot.close()
            if process.task is not None:
                await asyncio.gather(process.task, return_exceptions=True)
        for store in self.opened:
            await store.close()


@pytest.fixture
async def cluster(fake_discord: FakeDiscord, db_url: str) -> AsyncIterator[Cluster]:
    fake = fake_discord
    guilds = {
        0: [
            fake.add_guild("Acme Security", "alerts", "general", shard=(0, 2)),
            fake.add_guild("Blue Team", "soc", shard=(0, 2)),
        ],
        1: [
            fake.add_guild("Other Server", "news", shard=(1, 2)),
            fake.add_guild("Red Team", "intel", "ops", shard=(1, 2)),
        ],
    }
    c = Cluster(fake, db_url, guilds)
    yield c
    await c.close()


async def watch_everywhere(c: Cluster, company: str) -> list[FakeChannel]:
    """Every channel of every guild watches ``company``, set up with /watch add."""
    watched = []
    for shard in (0, 1):
        for guild in c.guilds[shard]:
            for channel in guild.channels.values():
                answer = await c.fake.slash(
                    guild, channel, "watch", "add", options={"company": company},
                    manage_guild=True,
                )  # fmt: skip
                assert f"now watches **{company}**" in answer.text(), answer.text()
                assert answer.shard == shard
                watched.append(channel)
    return watched


def posts(c: Cluster, channel: FakeChannel) -> list[str]:
    """The Authorization of every accepted message POST to ``channel``."""
    return [
        r.authorization
        for r in c.fake.received("POST", rf"/channels/{channel.id}/messages")
        if r.status == 200
    ]


async def test_each_shard_connects_and_sees_only_its_guilds(cluster: Cluster) -> None:
    """IDENTIFY carries [shard, 2]; READY and GUILD_CREATE bring that shard's guilds only."""
    c = cluster
    zero = await c.start(Sharding(2, (0,)), "token-shard-0")
    one = await c.start(Sharding(2, (1,)), "token-shard-1")
    assert sorted(p["shard"] for p in c.fake.identify_payloads) == [[0, 2], [1, 2]]
    assert c.fake.live_shards() == {(0, 2), (1, 2)}
    for process, shard in ((zero, 0), (one, 1)):
        assert {g.id for g in process.bot.guilds} == {g.id for g in c.guilds[shard]}
        assert process.bot.shard_count == 2 and process.bot.shard_ids == [shard]
        assert all(process.bot.serves(g.id) for g in c.guilds[shard])
        assert not any(process.bot.serves(g.id) for g in c.guilds[1 - shard])
    # With shard ids given, discord.py connects without asking for the recommendation.
    assert c.fake.received("GET", "/gateway/bot") == []


async def test_slash_commands_reach_the_client_of_their_shard(cluster: Cluster) -> None:
    """Every command is sent on its guild's shard and answered by that shard's client."""
    c = cluster
    zero = await c.start(Sharding(2, (0,)), "token-shard-0")
    one = await c.start(Sharding(2, (1,)), "token-shard-1")
    await watch_everywhere(c, "Casio")
    for process, shard in ((zero, 0), (one, 1)):
        assert {i.guild_id for i in process.interactions} == {g.id for g in c.guilds[shard]}
        assert len(process.interactions) == len(c.channels(shard))
    # A shard that reconnects resumes its own session; its guilds' commands still reach it.
    await c.fake.drop_connection(shard=1)
    await c.fake.wait_until(lambda: c.fake.resumes == 1)
    guild = c.guilds[1][1]
    answer = await c.fake.slash(guild, guild.channels[next(iter(guild.channels))], "watch", "list")
    assert answer.shard == 1 and "Casio" in answer.text()
    assert one.interactions[-1].guild_id == guild.id
    assert len(zero.interactions) == len(c.channels(0))


async def test_every_channel_gets_its_alert_once_from_its_shard(
    cluster: Cluster, web: LocalServer
) -> None:
    """A scraper queues the alert for every subscribed channel; each bot process sends its
    own shard's channels, leaves the others queued untouched, and nothing is sent twice."""
    c = cluster
    zero = await c.start(Sharding(2, (0,)), "token-shard-0")
    one = await c.start(Sharding(2, (1,)), "token-shard-1")
    watched = await watch_everywhere(c, "Casio")

    # The scraper, a third process: it learns the subscriptions from the database.
    scraper_store = await c.open_store()
    scraper_subs = Subscriptions(scraper_store, WATCHLIST)
    await scraper_subs.load()
    spec = SourceSpec(name="bleepingcomputer", kind="rss", url=web.url("/feed"), allow_private=True)
    settings = Settings(database=c.db_url, max_alert_age=None, jitter=0.0)
    web.route(
        "/feed",
        Response(
            200,
            (FIXTURES / "bleepingcomputer.xml").read_bytes(),
            {"Content-Type": "application/rss+xml"},
        ),
    )
    async with Fetcher(FetchPolicy(retries=0, host_spacing=0.0)) as fetcher:
        config = Config(Path("."), (spec,), WATCHLIST, settings)
        pipeline = await subscribed_pipeline(config, scraper_store, fetcher, scraper_subs)
        result = await pipeline.poll(spec)
    assert result.ok and len(result.found) == 1
    assert await scraper_store.pending_count() == len(watched) == 6

    # Shard 0 delivers first: its three channels, and not one row of shard 1's is touched.
    report = await zero.outbox().flush()
    assert (report.sent, report.retried, report.dead) == (3, 0, 0)
    async with scraper_store.engine.connect() as conn:
        left = list(await conn.execute(deliveries.select().where(deliveries.c.status == "pending")))
    assert sorted(int(r.target[8:]) for r in left) == sorted(ch.id for ch in c.channels(1))
    assert all(r.attempts == 0 and r.lease_owner is None and r.last_error is None for r in left)
    assert all(shard_of(r.guild_id, 2) == 1 for r in left)
    assert all(
        r.next_attempt_at.replace(tzinfo=None) <= utcnow().replace(tzinfo=None) for r in left
    )

    # Both flush again at once: shard 1 sends its own, shard 0 finds nothing more.
    second = await asyncio.gather(zero.outbox().flush(), one.outbox().flush())
    assert [r.sent for r in second] == [0, 3]
    for shard, token in ((0, "token-shard-0"), (1, "token-shard-1")):
        for channel in c.channels(shard):
            (message,) = channel.messages
            assert message["embeds"][0]["title"].startswith("Casio says ransomware attack")
            assert posts(c, channel) == [f"Bot {token}"]
    assert await scraper_store.delivery_counts() == {"sent": 6}


async def test_start_up_channel_check_covers_only_its_shards_guilds(cluster: Cluster) -> None:
    """Each process checks the subscribed channels of its own guilds, and marks broken only
    those it finds deleted; the other shard's channels are the other process's."""
    c = cluster
    store = await c.open_store()
    subs = Subscriptions(store, WATCHLIST)
    gone = {}
    for shard in (0, 1):
        guild = c.guilds[shard][0]
        live = next(iter(guild.channels.values()))
        await subs.subscribe(guild.id, live.id, "MoneyGram")
        gone[shard] = 1290000000000000000 + shard  # deleted before the bot started
        await subs.subscribe(guild.id, gone[shard], "MoneyGram")
    zero = await c.start(Sharding(2, (0,)), "token-shard-0")
    assert zero.bot.channel_problems == [f"channel {gone[0]}: the channel was deleted"]
    assert await subs.is_broken(gone[0]) and not await subs.is_broken(gone[1])
    checked = {r.path for r in c.fake.received("GET", r"/channels/\d+")}
    assert f"/channels/{gone[1]}" not in checked

    one = await c.start(Sharding(2, (1,)), "token-shard-1")
    assert one.bot.channel_problems == [f"channel {gone[1]}: the channel was deleted"]
    assert await subs.is_broken(gone[1])
    by_token = {
        r.path: r.authorization
        for r in c.fake.received("GET", r"/channels/\d+")
        if r.path in (f"/channels/{gone[0]}", f"/channels/{gone[1]}")
    }
    assert by_token == {
        f"/channels/{gone[0]}": "Bot token-shard-0",
        f"/channels/{gone[1]}": "Bot token-shard-1",
    }


async def test_digests_and_server_feeds_stay_with_their_shard(
    cluster: Cluster, web: LocalServer
) -> None:
    """A process sends its own guilds' digests and polls its own guilds' feeds only."""
    c = cluster
    zero = await c.start(Sharding(2, (0,)), "token-shard-0")
    one = await c.start(Sharding(2, (1,)), "token-shard-1")
    held = {}
    for shard in (0, 1):
        guild = c.guilds[shard][0]
        channel = next(iter(guild.channels.values()))
        await zero.subs.subscribe(guild.id, channel.id, "MoneyGram")
        await zero.subs.update_settings(guild.id, mode="digest")
        alert = {
            "incident": 1,
            "company": "MoneyGram",
            "title": f"MoneyGram says hackers stole customer data ({shard})",
            "url": "https://therecord.media/moneygram-cyberattack",
        }
        await zero.subs.hold_for_digest(guild.id, channel.id, alert)
        held[shard] = channel
    later = utcnow() + timedelta(days=2)

    def digest(process: ShardProcess) -> DigestSender:
        return DigestSender(ChannelSink(process.bot, process.subs), guilds=process.bot.serves)

    assert await digest(zero).send_due(later) == 1
    assert len(held[0].messages) == 1 and held[1].messages == []
    assert await digest(one).send_due(later) == 1
    assert len(held[1].messages) == 1
    assert posts(c, held[1]) == ["Bot token-shard-1"]

    # Server feeds: each guild's own feed is polled by its shard's process.
    empty = b"<rss version='2.0'><channel><title>News</title></channel></rss>"
    names = {}
    for shard in (0, 1):
        web.route(f"/feed-{shard}", Response(200, empty, {"Content-Type": "application/rss+xml"}))
        source, _ = await zero.subs.add_source(
            c.guilds[shard][0].id, "https://example.com", web.url(f"/feed-{shard}"), None, None
        )
        names[shard] = source.name
    spec = SourceSpec(name="unused", kind="rss", url=web.url("/feed-0"))
    settings = Settings(database=c.db_url, max_alert_age=None, jitter=0.0)
    async with Fetcher(FetchPolicy(retries=0, host_spacing=0.0)) as fetcher:
        for process, shard in ((zero, 0), (one, 1)):
            config = Config(Path("."), (spec,), WATCHLIST, settings)
            pipeline = Pipeline(config, process.store, fetcher)
            feeds = GuildFeeds(
                pipeline, process.subs, allow_private=True, guilds=process.bot.serves
            )
            results = await feeds.poll_due()
            assert [(r.name, r.ok) for r in results] == [(names[shard], True)]
    assert [len(web.received("GET", f"/feed-{n}")) for n in (0, 1)] == [1, 1]


async def test_auto_sharding_asks_discord_and_serves_every_guild(
    fake_discord: FakeDiscord, db_url: str
) -> None:
    """--shard-count auto: GET /gateway/bot says 2, one process runs both shards, serves and
    answers every guild."""
    fake = fake_discord
    fake.recommended_shards = 2
    guilds = [fake.add_guild("Acme Security", "alerts", shard=(n, 2)) for n in (0, 1)]
    c = Cluster(fake, db_url, {0: guilds[:1], 1: guilds[1:]})
    try:
        process = await c.start(Sharding(None), "token-auto")
        assert len(fake.received("GET", "/gateway/bot")) == 1
        assert sorted(p["shard"] for p in fake.identify_payloads) == [[0, 2], [1, 2]]
        assert process.bot.shard_count == 2 and process.bot.served is None
        assert {g.id for g in process.bot.guilds} == {g.id for g in guilds}
        for shard, guild in enumerate(guilds):
            channel = next(iter(guild.channels.values()))
            answer = await fake.slash(guild, channel, "lookup", options={"company": "Casio"})
            assert answer.shard == shard and "Nothing in the database" in answer.text()
        assert len(process.interactions) == 2
    finally:
        await c.close()


async def test_health_names_the_shard_that_lost_its_gateway(cluster: Cluster) -> None:
    """A bot process running shards is well only while each of its shards is connected."""
    c = cluster
    zero = await c.start(Sharding(2, (0,)), "token-shard-0")
    one = await c.start(Sharding(2, (1,)), "token-shard-1")
    assert connection_problem(zero.bot) is None and connection_problem(one.bot) is None
    c.fake.refuse_gateway = True
    await c.fake.drop_connection(shard=1)
    await c.fake.wait_until(lambda: c.fake.gateway_refusals >= 1, within=30)
    assert connection_problem(one.bot) == "shard(s) 1 disconnected"
    assert connection_problem(zero.bot) is None  # the other process's shard is not its own
    # Discord is back: after a refused reconnect the shard identifies afresh.
    ready = asyncio.ensure_future(one.bot.wait_for("shard_ready", timeout=30))
    c.fake.refuse_gateway = False
    assert await ready == 1
    assert connection_problem(one.bot) is None
