"""Measure delivering one alert to many channels through the real bot and a fake Discord.

Run from the repository root: ``python bench/discord_fanout.py [channels]`` (default
5,000; ``--quick`` for 500). The fake enforces Discord's published limits (50 requests/s
per bot, 5 messages per 5 s per channel) and answers 429 past them, so the figures are the
sustained rate against the 50/s limit (goal: at least 90%) and the 429s the bot's own
pacing caused (goal: none), plus the time from a slash command to its answer. The last
line holds the figures as key=value pairs.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.channel_sink import ChannelSink
from bot.client import BotServices, BreachRadarBot, point_at
from bot.delivery import Outbox
from bot.store import Store
from bot.subscriptions import Subscriptions
from scrapers.models import Disclosure, Evidence
from tests.support.fake_discord import FakeDiscord


class BenchBot(BreachRadarBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def main(channels: int) -> None:
    fake = await FakeDiscord(enforce_limits=True).start()
    guild = fake.add_guild("Bench", *(f"c{i}" for i in range(channels)))
    point_at(fake.api_url, fake.gateway_url)
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/bench.db")
        subs = Subscriptions(store)
        for channel_id in guild.channels:
            await subs.subscribe(guild.id, channel_id, "MoneyGram")
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
        for channel_id in guild.channels:
            await store.enqueue(
                f"channel:{channel_id}", incident_id=incident_id,
                disclosure_id=item.identity, payload=payload,
            )  # fmt: skip
        outbox = Outbox(store, {}, routes={"channel:": ChannelSink(bot, subs)})
        started = time.perf_counter()
        report = await outbox.flush()
        elapsed = time.perf_counter() - started
        posted = sum(len(c.messages) for c in guild.channels.values())
        print(f"channels: {channels}")
        print(f"alerts posted: {posted} (outbox sent {report.sent})")
        rate = posted / elapsed
        limited = sum(fake.rate_limited.values())
        print(f"fan-out time: {elapsed:.2f} s, {rate:.1f} messages/s")
        print(f"share of Discord's 50/s global limit sustained: {rate / 50:.0%}")
        print(
            f"429 answers: global {fake.rate_limited['global']}, "
            f"per-channel {fake.rate_limited['route']}"
        )

        channel = next(iter(guild.channels.values()))
        latencies = []
        for _ in range(20):
            t0 = time.perf_counter()
            await fake.slash(guild, channel, "lookup", options={"company": "MoneyGram"})
            latencies.append(time.perf_counter() - t0)
        print(
            f"/lookup round trip: median {statistics.median(latencies) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms over {len(latencies)}"
        )
        print(
            f"channels={channels} posted={posted} msgs_per_s={rate:.1f} "
            f"share_of_limit={rate / 50:.2f} rate_limited={limited} "
            f"lookup_median_ms={statistics.median(latencies) * 1000:.1f}"
        )
        await bot.close()
        await task
        await store.close()
    await fake.stop()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    default = 500 if "--quick" in sys.argv else 5000
    asyncio.run(main(int(args[0]) if args else default))
