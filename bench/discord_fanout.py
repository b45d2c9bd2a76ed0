"""Measure delivering one alert to many channels through the real bot and a fake Discord.

Run from the repository root: ``python bench/discord_fanout.py [channels]`` (default
5,000; ``--quick`` for 500). The fake enforces Discord's published limits (50 requests/s
per bot over any one second, 5 messages per 5 s per channel) and answers 429 past them, so
the figures are the sustained rate against the 50/s limit (goal: at least 90%) and the
429s the bot's own pacing caused (goal: none), plus the busiest second the fake saw and
the time from a slash command to its answer. The last line holds the figures as key=value
pairs.

The fake runs in a child process, as Discord runs on other machines: its own CPU does not
count against the bot's. ``--in-process`` runs it in the benchmark's event loop instead,
as earlier versions did (the bot then shares one core with the fake).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.delivery import Outbox
from bot.discordbot.channel_sink import ChannelSink
from bot.discordbot.client import BotServices, BreachRadarBot, point_at
from bot.store import Store
from bot.subscriptions import Subscriptions
from scrapers.models import Disclosure, Evidence
from tests.support.fake_discord import FakeDiscord, FakeGuild

LOOKUPS = 20


class BenchBot(BreachRadarBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


class FakeSide:
    """The fake Discord with its bench guild, and the figures the bench reads from it."""

    def __init__(self, fake: FakeDiscord, guild: FakeGuild) -> None:
        self.fake = fake
        self.guild = guild

    @classmethod
    async def start(cls, channels: int) -> FakeSide:
        fake = await FakeDiscord(enforce_limits=True).start()
        guild = fake.add_guild("Bench", *(f"c{i}" for i in range(channels)))
        return cls(fake, guild)

    def describe(self) -> dict[str, Any]:
        return {
            "api_url": self.fake.api_url,
            "gateway_url": self.fake.gateway_url,
            "guild_id": self.guild.id,
            "channel_ids": list(self.guild.channels),
        }

    def stats(self) -> dict[str, Any]:
        # The most requests under the global limit the fake accepted in any one second.
        accepted = [
            r.at
            for r in self.fake.requests
            if r.status != 429 and not r.path.startswith(("/interactions/", "/webhooks/"))
        ]
        window: deque[float] = deque()
        busiest = 0
        for at in accepted:
            window.append(at)
            while at - window[0] >= 1.0:
                window.popleft()
            busiest = max(busiest, len(window))
        return {
            "posted": sum(len(c.messages) for c in self.guild.channels.values()),
            "rate_limited": dict(self.fake.rate_limited),
            "busiest_second": busiest,
        }

    async def lookups(self) -> list[float]:
        """Time ``/lookup`` from the interaction the fake sends to the answer it receives."""
        channel = next(iter(self.guild.channels.values()))
        latencies = []
        for _ in range(LOOKUPS):
            t0 = time.perf_counter()
            await self.fake.slash(self.guild, channel, "lookup", options={"company": "MoneyGram"})
            latencies.append(time.perf_counter() - t0)
        return latencies


def serve_fake(conn: Connection, channels: int) -> None:
    """The child process: run the fake and answer the bench's requests over ``conn``."""

    async def serve() -> None:
        side = await FakeSide.start(channels)
        # Discord's clock is not stalled by a collector: keep the fake's own full passes
        # from bunching the arrival times it counts the global limit by.
        gc.freeze()
        conn.send(side.describe())
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stats":
                conn.send(side.stats())
            elif command == "lookups":
                conn.send(await side.lookups())
            else:
                break
        await side.fake.stop()
        conn.send("stopped")

    asyncio.run(serve())


class InProcessFake:
    """The fake in this process and event loop."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.side: FakeSide | None = None

    async def start(self) -> dict[str, Any]:
        self.side = await FakeSide.start(self.channels)
        return self.side.describe()

    async def stats(self) -> dict[str, Any]:
        assert self.side is not None
        return self.side.stats()

    async def lookups(self) -> list[float]:
        assert self.side is not None
        return await self.side.lookups()

    async def stop(self) -> None:
        assert self.side is not None
        await self.side.fake.stop()


class ChildProcessFake:
    """The fake in a child process of its own, driven over a pipe."""

    def __init__(self, channels: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=serve_fake, args=(child_end, channels), daemon=True)

    async def _ask(self, command: str | None = None) -> Any:
        if command is not None:
            self.conn.send(command)
        # The bot must keep running meanwhile (it answers the fake's slash commands).
        return await asyncio.to_thread(self.conn.recv)

    async def start(self) -> dict[str, Any]:
        self.process.start()
        described: dict[str, Any] = await self._ask()
        return described

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self._ask("stats")
        return stats

    async def lookups(self) -> list[float]:
        latencies: list[float] = await self._ask("lookups")
        return latencies

    async def stop(self) -> None:
        await self._ask("stop")
        await asyncio.to_thread(self.process.join, 10)


async def main(channels: int, *, in_process: bool) -> None:
    fake = InProcessFake(channels) if in_process else ChildProcessFake(channels)
    described = await fake.start()
    point_at(described["api_url"], described["gateway_url"])
    guild_id: int = described["guild_id"]
    channel_ids: list[int] = described["channel_ids"]
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        subs = Subscriptions(store)
        for channel_id in channel_ids:
            await subs.subscribe(guild_id, channel_id, "MoneyGram")
        bot = BenchBot(
            BotServices(store=store, subscriptions=subs, source_health=store.source_health),
            guild_ready_timeout=0.1,
        )
        task = asyncio.create_task(bot.start("bench-token"))
        await bot.channels_checked.wait()

        item = Disclosure(
            source="bench",
            url="https://example.com/moneygram",
            title="MoneyGram confirms cyberattack exposed customer data",
            evidence=Evidence.CONFIRMED,
        )
        await store.add_disclosures([item])
        incident_id, _ = await store.record_match(
            item, company_key="moneygram", company_name="MoneyGram", matched=["MoneyGram"],
            reason="bench", incident_id=None,
        )  # fmt: skip
        payload = {"title": item.title, "company": "MoneyGram", "evidence": "confirmed"}
        for channel_id in channel_ids:
            await store.enqueue(
                f"channel:{channel_id}", incident_id=incident_id,
                disclosure_id=item.identity, payload=payload,
            )  # fmt: skip
        outbox = Outbox(store, {}, routes={"channel:": ChannelSink(bot, subs)})
        started = time.perf_counter()
        report = await outbox.flush()
        elapsed = time.perf_counter() - started
        stats = await fake.stats()
        posted: int = stats["posted"]
        limited: dict[str, int] = stats["rate_limited"]
        where = "in this process" if in_process else "in a child process"
        print(f"channels: {channels} (fake Discord {where})")
        print(f"alerts posted: {posted} (outbox sent {report.sent})")
        rate = posted / elapsed
        print(f"fan-out time: {elapsed:.2f} s, {rate:.1f} messages/s")
        print(f"share of Discord's 50/s global limit sustained: {rate / 50:.0%}")
        print(f"429 answers: global {limited['global']}, per-channel {limited['route']}")
        print(f"busiest second at the fake: {stats['busiest_second']} requests (limit 50)")

        latencies = await fake.lookups()
        print(
            f"/lookup round trip: median {statistics.median(latencies) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms over {len(latencies)}"
        )
        print(
            f"channels={channels} posted={posted} msgs_per_s={rate:.1f} "
            f"share_of_limit={rate / 50:.2f} rate_limited={sum(limited.values())} "
            f"busiest_second={stats['busiest_second']} "
            f"lookup_median_ms={statistics.median(latencies) * 1000:.1f}"
        )
        await bot.close()
        await task
        await store.close()
    await fake.stop()


if __name__ == "__main__":
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    default = 500 if "--quick" in flags else 5000
    asyncio.run(main(int(args[0]) if args else default, in_process="--in-process" in flags))
