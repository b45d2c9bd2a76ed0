"""A bot process's /healthz says whether it is connected to Discord; its /metrics count the
alerts it posts to channels."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.core.addresses import ListenAddress
from bot.core.clock import utcnow
from bot.service.app import App, RunOptions, connect
from bot.store import Store
from bot.subscriptions import Subscriptions
from scrapers.models import Disclosure
from tests.support.fake_discord import FakeDiscord
from tests.support.scenario import load, write_config


async def test_bot_health_follows_the_gateway_and_channel_posts_are_counted(
    fake_discord: FakeDiscord, tmp_path: Path, db_url: str
) -> None:
    fake = fake_discord
    guild = fake.add_guild("Acme Security", "alerts")
    (channel,) = guild.channels.values()
    store = await Store.open(db_url)
    await Subscriptions(store).subscribe(guild.id, channel.id, "MoneyGram")
    item = Disclosure(
        source="bleepingcomputer",
        title="MoneyGram confirms a cyberattack is behind dayslong outage",
        url="https://www.bleepingcomputer.com/news/security/moneygram-confirms-a-cyberattack-is-behind-dayslong-outage/",
    )
    seen = utcnow() - timedelta(seconds=90)  # first seen a minute and a half ago
    await store.add_disclosures([item], now=seen)
    incident, _ = await store.record_match(
        item, company_key="moneygram", company_name="MoneyGram", matched=["MoneyGram"],
        reason="names 'MoneyGram'", incident_id=None, now=seen,
    )  # fmt: skip
    await store.enqueue(
        f"channel:{channel.id}",
        incident_id=incident,
        disclosure_id=item.identity,
        payload={"kind": "alert", "company": "MoneyGram", "title": item.title, "url": item.url},
        now=seen,
    )
    await store.close()

    cfg = write_config(
        tmp_path / "c",
        sources="",
        settings=f'discord_api_url = "{fake.api_url}"\ndiscord_gateway_url = "{fake.gateway_url}"\n',
    )
    config = load(cfg, db_url, environ={"DISCORD_TOKEN": "fake-token"})
    options = RunOptions(role="bot", deliver_every=0.2, metrics=ListenAddress("127.0.0.1", 0))
    async with connect(config) as parts:
        app = await App.build(config, options, parts)
        bound = await app.open_monitor()
        assert bound is not None and app.bot is not None
        running = asyncio.create_task(app.run())
        try:
            async with httpx.AsyncClient(base_url=bound.url(""), timeout=10) as client:
                # Not connected yet: unhealthy, and it says why.
                early = (await client.get("/healthz")).json()
                assert "discord" in early["failing"]
                await asyncio.wait_for(app.bot.wait_until_ready(), 30)
                await fake.wait_until(lambda: bool(channel.messages), within=30)

                async def channel_posts() -> float:
                    text = (await client.get("/metrics")).text
                    for family in text_string_to_metric_families(text):
                        for s in family.samples:
                            if s.name == "breachradar_deliveries_total" and s.labels == {
                                "target_kind": "channel", "outcome": "sent"
                            }:  # fmt: skip
                                return s.value
                    return 0.0

                # The post reached the fake; a flush of our own waits for the one that sent it.
                await app.outbox.flush()
                assert await channel_posts() == 1
                text = (await client.get("/metrics")).text
                assert 'breachradar_build_info{role="bot",version="0.1.0"} 1.0' in text
                latency = next(
                    s.value
                    for f in text_string_to_metric_families(text)
                    for s in f.samples
                    if s.name == "breachradar_alert_latency_seconds_sum"
                )
                assert 90 <= latency < 150  # from the first sighting, not from the queueing

                ok = await client.get("/healthz")
                assert ok.status_code == 200, ok.text
                assert ok.json()["checks"]["discord"] == {"ok": True, "guilds": 1}

                # The gateway drops the connection and refuses new ones for a while: the
                # client is still "ready" but not connected, and health says so.
                fake.refuse_gateway = True
                await fake.drop_connection()
                await fake.wait_until(lambda: fake.gateway_refusals >= 1, within=30)
                cut = await client.get("/healthz")
                assert cut.status_code == 503
                assert cut.json()["failing"] == ["discord"]
                assert "reconnecting" in cut.json()["checks"]["discord"]["error"]
                assert cut.json()["checks"]["database"]["ok"] is True
                # Discord is back: the client resumes its session and health recovers.
                resumed = asyncio.ensure_future(app.bot.wait_for("resumed", timeout=30))
                fake.refuse_gateway = False
                await resumed
                back = await client.get("/healthz")
                assert back.status_code == 200, back.text
                assert fake.resumes == 1 and fake.identifies == 1

                await app.bot.close()
                down = await client.get("/healthz")
                assert down.status_code == 503
                assert down.json()["failing"] == ["discord"]
                assert down.json()["checks"]["discord"]["error"] == "the bot is closed"
        finally:
            app.request_stop()
            assert await asyncio.wait_for(running, 30) == 0
