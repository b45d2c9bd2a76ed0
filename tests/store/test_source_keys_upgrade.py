"""A database from before display names keeps every source's history after the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.service.pipeline import Pipeline
from bot.store import Store, migrate
from bot.store.disclosures import disclosure_row
from bot.store.schema import disclosures, source_state
from scrapers.base import Page, SourceSpec
from scrapers.http import Fetcher
from scrapers.registry import build
from tests.support.localserver import FIXTURES, LocalServer, Recorded, Response
from tests.support.scenario import load, write_config

FEED = (FIXTURES / "bleepingcomputer" / "feed-2024-10-08.xml").read_bytes()
ETAG = '"feed-v1"'


async def make_database_of_revision_0003(url: str, feed_url: str) -> int:
    """What the code before display names left: a source keyed by its kebab-case name,
    its validators and counters, and every item of its feed under that key."""
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine, "0003")
        seen = datetime(2024, 10, 8, 15, 0, tzinfo=UTC)
        old = build(SourceSpec(name="bleepingcomputer", kind="rss", url=feed_url))
        items = old.parse(Page(url=feed_url, body=FEED, content_type="application/rss+xml"))
        async with engine.begin() as conn:
            await conn.execute(
                insert(source_state).values(
                    name="bleepingcomputer",
                    etag=ETAG,
                    last_success_at=seen,
                    consecutive_failures=0,
                    items_seen=len(items) * 3,
                    next_poll_at=seen + timedelta(minutes=10),
                )
            )
            # Only the columns revision 0003 had: later revisions add their own.
            known = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("disclosures")}
            )
            rows = [{k: v for k, v in disclosure_row(d, seen).items() if k in known} for d in items]
            await conn.execute(insert(disclosures), rows)
            columns = await conn.execute(text("SELECT * FROM source_state"))
            assert "display_name" not in list(columns.keys())
        return len(items)
    finally:
        await engine.dispose()


async def test_upgrade_keeps_the_history_of_sources_keyed_by_kebab_names(
    any_db_url: str, web: LocalServer, tmp_path: Path
) -> None:
    """After the upgrade the same source, now written "BleepingComputer", is the same
    source: its ETag is sent, its items are known, its counters go on; its name as written
    is remembered beside the key."""
    asked: list[Recorded] = []

    def feed(request: Recorded) -> Response:
        asked.append(request)
        return Response(200, FEED, {"Content-Type": "application/rss+xml", "ETag": ETAG})

    web.route("/feed/", feed)
    count = await make_database_of_revision_0003(any_db_url, web.url("/feed/"))

    engine = create_async_engine(any_db_url)
    try:
        assert await migrate.upgrade(engine) == ("0003", migrate.head())
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(source_state.c.name, source_state.c.display_name))
            ).all()
        assert [tuple(r) for r in rows] == [("bleepingcomputer", "bleepingcomputer")]
    finally:
        await engine.dispose()

    config = load(
        write_config(
            tmp_path / "config",
            sources=f'[[sources]]\nname = "BleepingComputer"\nkind = "rss"\nurl = "{web.url("/feed/")}"\n',
            settings='max_alert_age = "none"\n',
            loopback=True,
        ),
        any_db_url,
    )
    (spec,) = config.sources
    assert (spec.name, spec.display_name) == ("bleepingcomputer", "BleepingComputer")
    store = await Store.open(any_db_url)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            report = await Pipeline(config, store, fetcher).run_pass(config.sources)
        (result,) = report.results
        assert result.ok and result.items == count
        assert result.new == 0 and result.found == []  # nothing seen before is new again
        assert asked[0].headers.get("if-none-match") == ETAG
        health = (await store.source_health())["bleepingcomputer"]
        assert health.items_seen == count * 4
        assert health.display_name == "BleepingComputer"
        assert set(await store.source_health()) == {"bleepingcomputer"}
    finally:
        await store.close()
