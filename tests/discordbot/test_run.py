"""``breachradar run`` with DISCORD_TOKEN: the bot and the scheduler in one process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.store import Store
from bot.subscriptions import Subscriptions
from tests.support.fake_discord import FakeDiscord
from tests.support.localserver import LocalServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_run_starts_the_bot_beside_the_scheduler(
    fake_discord: FakeDiscord, web: LocalServer, tmp_path: Path
) -> None:
    """One process logs in with only the guilds intent, syncs, polls and posts the alert."""
    fake = fake_discord
    guild = fake.add_guild("Acme Security", "alerts")
    (channel,) = guild.channels.values()
    web.serve_file("/feed", "discord/bleepingcomputer.xml", "application/rss+xml")
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text(
        f'[[sources]]\nname = "local-news"\nkind = "rss"\nurl = "{web.url("/feed")}"\n'
        'every = "1h"\nallow_private = true\n'
    )
    (config / "watchlist.toml").write_text('[[companies]]\nname = "MoneyGram"\n')
    (config / "settings.toml").write_text('max_alert_age = "none"\njitter = 0\n')
    database = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    store = await Store.open(database)
    await Subscriptions(store).subscribe(guild.id, channel.id, "Casio")
    await store.close()

    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN="fake-token-for-tests",
        BREACHRADAR_DATABASE_URL=database,
        BREACHRADAR_DISCORD_API_URL=fake.api_url,
        BREACHRADAR_DISCORD_GATEWAY_URL=fake.gateway_url,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake.wait_until(lambda: bool(channel.messages), within=60)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    (message,) = channel.messages
    assert message["embeds"][0]["title"].startswith("Casio says ransomware attack")
    assert fake.identify_payloads[0]["intents"] == 1  # guilds only, nothing privileged
    assert len(fake.received("PUT", r"/applications/\d+/commands")) == 1
    assert b"fake-token-for-tests" not in stderr


@pytest.mark.slow
async def test_run_exits_when_discord_refuses_the_token(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """A token Discord refuses stops the service with exit code 1, without echoing it."""
    fake_discord.fail("GET", "/users/@me", 401)
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.toml").write_text("")
    (config / "watchlist.toml").write_text("")
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN="revoked-token-for-tests",
        BREACHRADAR_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        BREACHRADAR_DISCORD_API_URL=fake_discord.api_url,
        BREACHRADAR_DISCORD_GATEWAY_URL=fake_discord.gateway_url,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert b"the Discord bot stopped: LoginFailure" in stderr
    assert b"revoked-token-for-tests" not in stderr
