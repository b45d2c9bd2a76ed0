"""Matching and grouping inside a real poll: two feeds, one story, one alert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.core.watchlist import Company, Watchlist
from bot.service.pipeline import Pipeline
from bot.settings import Config, Settings, WebhookTarget
from bot.store import Store
from scrapers.base import SourceSpec
from scrapers.http import Fetcher
from tests.support.localserver import LocalServer


async def test_a_story_through_two_feeds_alerts_once_and_updates_on_news(
    web: LocalServer, db_url: str, tmp_path: Path
) -> None:
    """The aggregator's copy (new GUID, utm link) adds no alert; its new story is an update."""
    web.serve_file("/bc.xml", "matching-feeds/bleepingcomputer.xml", "application/rss+xml")
    web.serve_file("/agg.xml", "matching-feeds/aggregator.xml", "application/rss+xml")
    watchlist = Watchlist(
        [
            Company(name="Casio", aliases=("カシオ計算機",), domains=("casio.com",)),
            Company(name="Orange", domains=("orange.com",), exclude=("Orange County",)),
        ]
    )
    config = Config(
        directory=tmp_path,
        sources=(
            SourceSpec(name="bleepingcomputer", kind="rss", url=web.url("/bc.xml")),
            SourceSpec(name="aggregator", kind="rss", url=web.url("/agg.xml")),
        ),
        watchlist=watchlist,
        settings=Settings(
            database=db_url,
            webhooks=(WebhookTarget(url="http://127.0.0.1:9/hook", label="ops"),),
            allow_private_addresses=True,
            max_alert_age=None,
        ),
    )
    store = await Store.open(db_url)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(
                config, store, fetcher, clock=lambda: datetime(2024, 10, 16, tzinfo=UTC)
            )
            first = await pipeline.poll(config.sources[0])
            second = await pipeline.poll(config.sources[1])
        assert [f.match.company.name for f in first.found] == ["Casio"]
        assert [(f.new_incident, f.pushed) for f in second.found] == [(False, False), (False, True)]
        incident = first.found[0].incident_id
        assert {f.incident_id for f in second.found} == {incident}
        assert await store.delivery_counts() == {"pending": 2}
        due = await store.claim_due(owner="test", now=datetime(2030, 1, 1, tzinfo=UTC))
        assert [(d.kind, d.payload["title"]) for d in due] == [
            ("alert", "Casio says network breach causes system outages"),
            ("update", "Casio says network breach causes system outages"),
        ]
        assert len(await store.incident_sources(incident)) == 3
    finally:
        await store.close()
