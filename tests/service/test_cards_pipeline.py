"""Incident cards through a real poll, store and webhook delivery.

Two real feeds on loopback: BleepingComputer reports the Underground gang's claim of a
ransomware attack on Casio; months later Casio's own newsroom confirms how many people's data
leaked. The alert shows the card; the follow-up edits it in place with what changed on top;
webhooks with filters hear of the incident only when its card passes them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bot.core.cards import CardFilter
from bot.core.watchlist import Company, Watchlist
from bot.delivery import Outbox
from bot.delivery.webhook import make_webhook_sinks
from bot.service.pipeline import Pipeline
from bot.settings import Config, Settings, WebhookTarget
from bot.store import Store
from scrapers.base import SourceSpec
from scrapers.http import Fetcher
from tests.support.localserver import DiscordWebhook, LocalServer


def _fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


async def test_the_alert_shows_the_card_and_a_confirmation_edits_it_in_place(
    web: LocalServer, db_url: str, tmp_path: Path
) -> None:
    """Card fields in the first alert; Casio's count edits it, "confirmed by Casio" on top;
    a webhook set to 5,000 affected hears of it only then; one set to health data never."""
    web.serve_file("/bc.xml", "cards/bleepingcomputer-casio.xml", "application/rss+xml")
    web.serve_file("/casio.xml", "cards/casio-newsroom.xml", "application/rss+xml")
    everyone = DiscordWebhook(web, "/api/webhooks/1/all")
    large = DiscordWebhook(web, "/api/webhooks/2/large")
    health = DiscordWebhook(web, "/api/webhooks/3/health")
    config = Config(
        directory=tmp_path,
        sources=(
            SourceSpec(name="bleepingcomputer", kind="rss", url=web.url("/bc.xml")),
            SourceSpec(
                name="casio-newsroom",
                kind="rss",
                url=web.url("/casio.xml"),
                options={"evidence": "confirmed", "organization": "Casio"},
            ),
        ),
        watchlist=Watchlist([Company(name="Casio", domains=("casio.com",))]),
        settings=Settings(
            database=db_url,
            webhooks=(
                WebhookTarget(url=everyone.url, label="soc"),
                WebhookTarget(url=large.url, label="large", card_filter=CardFilter(5_000)),
                WebhookTarget(
                    url=health.url,
                    label="health",
                    card_filter=CardFilter(data=frozenset({"health"})),
                ),
            ),
            allow_private_addresses=True,
            max_alert_age=None,
        ),
    )
    store = await Store.open(db_url)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher, httpx.AsyncClient() as client:
            outbox = Outbox(store, make_webhook_sinks(config.settings.webhooks, client))
            claim = Pipeline(
                config, store, fetcher, clock=lambda: datetime(2024, 10, 10, 16, tzinfo=UTC)
            )
            (reported,) = (await claim.poll(config.sources[0])).found
            assert reported.card["attack"]["value"] == "ransomware"
            assert reported.card["actor"]["value"] == "Underground"
            assert (await outbox.flush()).sent == 1  # the filtered webhooks were not queued
            (alert,) = everyone.messages.values()
            fields = _fields(alert)
            assert (fields["Attack"], fields["Actor"]) == ("ransomware", "Underground")
            assert "Affected" not in fields  # not known yet: no number rather than a guess
            assert fields["Timeline"].startswith("Reported <t:")
            assert large.messages == {} and health.messages == {}

            confirm = Pipeline(
                config, store, fetcher, clock=lambda: datetime(2025, 1, 7, 9, tzinfo=UTC)
            )
            (confirmed,) = (await confirm.poll(config.sources[1])).found
            assert confirmed.incident_id == reported.incident_id and not confirmed.new_incident
            assert confirmed.as_json()["affected"] == 8_478
            assert (await outbox.flush()).sent == 2
        # The alert was edited in place, not posted again, with what changed on top.
        assert len(everyone.posts()) == 1 and len(everyone.edits()) == 1
        (edited,) = everyone.messages.values()
        embed = edited["embeds"][0]
        assert embed["description"].startswith(
            "**What changed**\n• confirmed by Casio: 8,478 people"
        )
        assert _fields(edited)["Affected"] == "8,478 people"
        timeline = _fields(edited)["Timeline"].splitlines()
        assert [line.split(" ")[0] for line in timeline] == ["Reported", "Confirmed"]
        assert timeline[1].endswith("Casio")
        # The webhook set to 5,000 affected hears of the incident now, as a new alert.
        assert len(large.posts()) == 1 and large.edits() == []
        (late,) = large.messages.values()
        assert not late["embeds"][0]["title"].startswith("Update")
        assert _fields(late)["Affected"] == "8,478 people"
        assert health.messages == {}
    finally:
        await store.close()
