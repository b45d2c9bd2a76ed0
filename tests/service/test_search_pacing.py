"""The service runs a news search's batches on the plan's moments, never in a burst."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.core.clock import utcnow
from bot.core.sourceplan import make_plan
from bot.core.watchlist import Company
from bot.delivery import Outbox
from bot.service.app import App, RunOptions, connect
from bot.service.pipeline import Pipeline
from bot.service.scheduler import Service
from bot.settings import Config, load_config
from bot.store import Store
from bot.store.schema import source_state
from bot.subscriptions import Subscriptions
from scrapers.http import Fetcher
from tests.support.localserver import LocalServer
from tests.support.scenario import write_config

WATCHLIST = "".join(
    f'[[companies]]\nname = "{name}"\n\n'
    for name in ("Casio", "MoneyGram", "KADOKAWA", "Ticketmaster", "Change Healthcare", "Okta")
)


def search_config(directory: Path, web: LocalServer) -> Config:
    """Six companies in three batches of two (the breach terms and when:1d take 11 words)."""
    write_config(
        directory,
        sources=f"""
[[sources]]
name = "google-news"
kind = "news-search"
url = "{web.url("/rss/search")}?q={{query}}&hl=en-US&gl=US&ceid=US:en"
terms_per_query = 15
search_every = "1h"
allow_private = true
""",
        watchlist=WATCHLIST,
        loopback=True,
    )
    return load_config(directory, environ={})


async def next_polls(store: Store) -> dict[str, datetime]:
    return {
        name: h.next_poll_at
        for name, h in (await store.source_health()).items()
        if h.next_poll_at is not None
    }


async def polled(service: Service, count: int) -> None:
    """Wait until the service finished ``count`` polls (it signals nothing else)."""
    async with asyncio.timeout(10):
        while service.polls < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def near(value: datetime, expected: datetime, slack: float = 3.0) -> bool:
    return abs((value - expected).total_seconds()) <= slack


async def test_first_start_runs_one_batch_and_places_the_others_over_the_hour(
    tmp_path: Path, web: LocalServer, any_db_url: str
) -> None:
    """Batch 1 at once; batches 2 and 3 a third and two thirds of the period later."""
    web.serve_file("/rss/search", "google-news-batch/search.xml", "application/xml")
    config = search_config(tmp_path / "config", web)
    assert [s.name for s in config.enabled_sources] == [f"google-news-00{i}" for i in (1, 2, 3)]
    store = await Store.open(any_db_url, create=False)
    await store.create_schema()
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            service = Service(
                pipeline, Outbox(store, {}), config.enabled_sources, deliver=False, tick=0.2
            )
            started = utcnow()
            await service.start()
            try:
                await polled(service, 1)
                await asyncio.sleep(1.0)  # five more ticks: nothing else is due
                assert len(web.received(path="/rss/search")) == 1
            finally:
                await service.stop()
            due = await next_polls(store)
    finally:
        await store.close()
    every = config.enabled_sources[0].every
    assert every == timedelta(seconds=3564)
    assert near(due["google-news-001"], started + every)
    assert near(due["google-news-002"], started + every / 3)
    assert near(due["google-news-003"], started + every * 2 / 3)
    # The one request asked about the first two companies, and nothing else.
    assert "Casio" in web.received(path="/rss/search")[0].path
    assert "KADOKAWA" not in web.received(path="/rss/search")[0].path


async def test_batches_overdue_after_downtime_are_spread_again_from_now(
    tmp_path: Path, web: LocalServer, any_db_url: str
) -> None:
    """A service down for hours does not fire every batch at once when it comes back."""
    web.serve_file("/rss/search", "google-news-batch/search.xml", "application/xml")
    config = search_config(tmp_path / "config", web)
    store = await Store.open(any_db_url, create=False)
    await store.create_schema()
    now = utcnow()
    later = now + timedelta(minutes=50)
    await store.ensure_sources([s.name for s in config.enabled_sources])
    async with store.engine.begin() as conn:
        for name, due in (
            ("google-news-001", now - timedelta(hours=3)),
            ("google-news-002", later),  # not overdue: keeps its moment
            ("google-news-003", now - timedelta(hours=2)),
        ):
            await conn.execute(
                update(source_state)
                .where(source_state.c.name == name)
                .values(next_poll_at=due, last_success_at=now - timedelta(hours=4))
            )
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            service = Service(
                pipeline, Outbox(store, {}), config.enabled_sources, deliver=False, tick=0.2
            )
            await service.start()
            try:
                await polled(service, 1)
                await asyncio.sleep(0.6)
                assert len(web.received(path="/rss/search")) == 1
            finally:
                await service.stop()
            due = await next_polls(store)
    finally:
        await store.close()
    spacing = config.enabled_sources[0].every / 3
    # The longest overdue ran at once; the other one, a spacing later; the third unmoved.
    assert near(due["google-news-001"], now + config.enabled_sources[0].every)
    assert near(due["google-news-003"], now + spacing)
    assert due["google-news-002"] == later


async def test_a_batch_started_late_keeps_its_next_moment_on_the_plan(
    tmp_path: Path, web: LocalServer, db_url: str
) -> None:
    """A poll's lateness is not carried into the next one: batches keep their spacing.

    Were the next poll counted from the late start, each batch would drift by its own
    lateness every period, and in a day neighbouring batches would bunch up.
    """
    web.serve_file("/rss/search", "google-news-batch/search.xml", "application/xml")
    config = search_config(tmp_path / "config", web)
    store = await Store.open(db_url)
    now = utcnow()
    await store.ensure_sources([s.name for s in config.enabled_sources])
    async with store.engine.begin() as conn:  # all three polled before, none due soon
        await conn.execute(
            update(source_state).values(
                next_poll_at=now + timedelta(minutes=30), last_success_at=now
            )
        )
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            service = Service(
                pipeline, Outbox(store, {}), config.enabled_sources, deliver=False, tick=0.2
            )
            await service.start()
            try:
                # Batch 2 fell due four seconds ago: its poll starts now, late.
                moment = utcnow() - timedelta(seconds=4)
                async with store.engine.begin() as conn:
                    await conn.execute(
                        update(source_state)
                        .where(source_state.c.name == "google-news-002")
                        .values(next_poll_at=moment)
                    )
                await polled(service, 1)
            finally:
                await service.stop()
            due = await next_polls(store)
    finally:
        await store.close()
    every = config.enabled_sources[1].every
    assert abs((due["google-news-002"] - (moment + every)).total_seconds()) < 0.01


async def test_new_companies_of_servers_join_the_searches_without_a_restart(
    tmp_path: Path, web: LocalServer, db_url: str
) -> None:
    """A re-plan keeps the batches' moments and places the new batch on its own."""
    web.serve_file("/rss/search", "google-news-batch/search.xml", "application/xml")
    config = search_config(tmp_path / "config", web)
    store = await Store.open(db_url)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            service = Service(
                pipeline, Outbox(store, {}), config.enabled_sources, deliver=False, tick=0.2
            )
            await service.start()
            try:
                await polled(service, 1)
                before = await next_polls(store)
                more = [*config.watchlist.companies, Company("Marks & Spencer")]
                plan = make_plan(config.entries, more)
                assert [s.name for s in plan.sources][-1] == "google-news-004"
                await service.update_sources(plan.sources)
                await asyncio.sleep(0.6)
                after = await next_polls(store)
                assert len(web.received(path="/rss/search")) == 1
            finally:
                await service.stop()
    finally:
        await store.close()
    for name in ("google-news-001", "google-news-002", "google-news-003"):
        assert after[name] == before[name]
    # The fourth batch of four: three quarters of a period from the re-plan.
    offset = timedelta(seconds=float(plan.sources[-1].options["offset"]))
    assert offset == plan.sources[0].every * 3 / 4
    assert after["google-news-004"] - utcnow() > offset - timedelta(seconds=5)


async def test_a_scraper_process_searches_the_companies_servers_watch(
    tmp_path: Path, web: LocalServer, db_url: str
) -> None:
    """Built for its role, a scraper plans searches for servers' companies, and re-plans."""
    search_config(tmp_path / "config", web)
    config = load_config(tmp_path / "config", database=db_url, environ={})
    store = await Store.open(db_url)
    try:
        await Subscriptions(store, config.watchlist).import_text(1, 2, "Snowflake\n")
    finally:
        await store.close()
    async with connect(config) as parts:
        app = await App.build(config, RunOptions(role="scraper"), parts)
        searched = {s.name for b in app.service.sources.values() for s in b.subjects}
        assert "Snowflake" in searched and "Casio" in searched
        assert len(app.service.sources) == 4  # six companies and Snowflake: four batches
        assert app.subscriptions is not None
        await app.subscriptions.import_text(1, 2, "Okta Verify\nAcme Widgets\n")
        async with asyncio.timeout(5):
            while len(app.service.sources) < 5:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        (schedule,) = app.schedules
        assert schedule.companies == 9 and schedule.batches == 5
