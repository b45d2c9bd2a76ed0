"""Measure delivering one alert to many channels through the real bot and a fake Discord.

Run from the repository root: ``python bench/discord_fanout.py [channels]``. Prints the
time to post one alert to every channel, the rate (paced under Discord's global 50/s),
and the time from a slash command to its answer.
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
    fake = await FakeDiscord().start()
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
        print(f"fan-out time: {elapsed:.2f} s, {posted / elapsed:.1f} messages/s")

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
        await bot.close()
        await task
        await store.close()
    await fake.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
