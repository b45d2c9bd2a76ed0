"""A scraper and two bot processes (shards 0 and 1 of 2) on one PostgreSQL and one Discord.

Servers subscribe with slash commands after every process has started: the scraper picks
the subscriptions up without a restart, and each channel's alert comes exactly once, from
the process that runs its guild's shard.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import Store, migrate
from tests.support.fake_discord import FakeChannel, FakeDiscord, FakeGuild
from tests.support.farm import FeedFarm
from tests.support.localserver import LocalServer
from tests.support.scenario import rss_source, write_config

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """One ``breachradar run`` whose log lines the test can wait for."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._changed.notify_all()

    async def logged(self, pattern: str, within: float = 30) -> str:
        """Wait for a log line matching ``pattern``; return it."""

        def found() -> str | None:
            return next((line for line in self.lines if re.search(pattern, line)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), within)
        line = found()
        assert line is not None
        return line

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await self._reader
        return code


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    engine = create_async_engine(postgres_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    yield postgres_url


@pytest.mark.slow
@pytest.mark.postgres
async def test_sharded_bots_deliver_each_guild_from_its_shard(
    fake_discord: FakeDiscord, database: str, web: LocalServer, tmp_path: Path
) -> None:
    fake = fake_discord
    guilds: dict[int, list[FakeGuild]] = {
        shard: [fake.add_guild(f"Server {shard}-{n}", "alerts", shard=(shard, 2)) for n in range(2)]
        for shard in (0, 1)
    }
    farm = FeedFarm(web, 1)
    config = write_config(
        tmp_path / "config",
        sources=rss_source("the-record", farm.url(0), every="1s"),
        watchlist='[[companies]]\nname = "MoneyGram"\n',
        settings='allow_private_addresses = true\nmax_alert_age = "none"\njitter = 0\n',
    )
    processes: list[Process] = []

    async def start(name: str, *args: str, token: str | None = None) -> Process:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
        env.pop("DISCORD_TOKEN", None)
        env.update(
            PYTHONPATH=str(ROOT),
            BREACHRADAR_DISCORD_API_URL=fake.api_url,
            BREACHRADAR_DISCORD_GATEWAY_URL=fake.gateway_url,
            # Every process gets the count from the environment, as a deployment would.
            BREACHRADAR_SHARD_COUNT="2",
        )
        if token is not None:
            env["DISCORD_TOKEN"] = token
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), "--db", database,
            "--reload-every", "0.2", *args,
            env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        process = Process(name, proc)
        processes.append(process)
        return process

    try:
        scraper = await start("scraper", "--role", "scraper")
        bots = []
        for shard in (0, 1):
            bot = await start(
                f"bot-{shard}", "--role", "bot", "--shard-ids", str(shard),
                "--deliver-every", "0.2", token=f"token-shard-{shard}",
            )  # fmt: skip
            bots.append(bot)
        await fake.wait_until(lambda: fake.live_shards() == {(0, 2), (1, 2)}, within=60)
        for shard, bot in enumerate(bots):
            await bot.logged(rf"role bot, process .*shards {shard} of 2\)")

        # Every server subscribes its channel to Casio, a company the scraper never heard of.
        channels: dict[int, list[FakeChannel]] = {0: [], 1: []}
        for shard in (0, 1):
            for guild in guilds[shard]:
                (channel,) = guild.channels.values()
                answer = await fake.slash(
                    guild, channel, "watch", "add", options={"company": "Casio"},
                    manage_guild=True,
                )  # fmt: skip
                assert "now watches **Casio**" in answer.text()
                assert answer.shard == shard
                channels[shard].append(channel)
        await scraper.logged(r"reloaded \(4 channels watch 1 companies\)")

        farm.publish(
            0,
            "Casio says ransomware attack exposed data of employees and partners",
            "https://therecord.media/casio-ransomware-attack-employees-partners",
            datetime(2024, 10, 8, 12, 0, tzinfo=UTC),
        )
        everything = [c for shard in (0, 1) for c in channels[shard]]
        await fake.wait_until(lambda: all(c.messages for c in everything), within=60)

        # A few more polls and delivery rounds bring nothing twice.
        polled = len(farm.polls[0])
        assert await asyncio.to_thread(farm.wait_polls, polled + 2)
        store = await Store.open(database)
        try:
            assert await store.delivery_counts() == {"sent": 4}
        finally:
            await store.close()
        codes = {p.name: await p.stop() for p in processes}
    finally:
        for p in processes:
            if p.proc.returncode is None:
                p.proc.kill()
                await p.proc.wait()

    assert codes == {"scraper": 0, "bot-0": 0, "bot-1": 0}, {
        p.name: p.lines[-20:] for p in processes
    }
    for shard in (0, 1):
        for channel in channels[shard]:
            (message,) = channel.messages
            assert message["embeds"][0]["title"].startswith("Casio says ransomware attack")
            sent = fake.received("POST", rf"/channels/{channel.id}/messages")
            assert [r.authorization for r in sent] == [f"Bot token-shard-{shard}"]
