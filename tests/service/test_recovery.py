"""A scraper that dies after storing items but before queueing their alerts loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.service.pipeline import Pipeline
from bot.settings import load_config
from bot.store import Store
from scrapers.http import Fetcher
from scrapers.models import Disclosure
from tests.support.localserver import LocalServer, Response

FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>BleepingComputer</title>
<link>https://www.bleepingcomputer.com/</link><description>Technology news</description>
<item><title>MoneyGram confirms hackers stole customer data in cyberattack</title>
<link>https://www.bleepingcomputer.com/news/security/moneygram-confirms-hackers-stole-customer-data-in-cyberattack/</link>
<guid isPermaLink="false">https://www.bleepingcomputer.com/news/security/moneygram-confirms-hackers-stole-customer-data-in-cyberattack/</guid>
<pubDate>Mon, 07 Oct 2024 18:32:11 -0400</pubDate></item>
</channel></rss>
"""
T0 = datetime(2024, 10, 8, 9, 0, tzinfo=UTC)


async def test_alerts_of_items_stranded_by_a_crash_are_queued_by_a_later_poll(
    tmp_path: Path, web: LocalServer, any_db_url: str
) -> None:
    """Items stored by a process that died before matching are matched and queued later."""
    web.route("/feed", Response(200, FEED, {"Content-Type": "application/rss+xml"}))
    (tmp_path / "sources.toml").write_text(
        f'[[sources]]\nname = "bleepingcomputer"\nkind = "rss"\nurl = "{web.url("/feed")}"\n',
        encoding="utf-8",
    )
    (tmp_path / "watchlist.toml").write_text('[[companies]]\nname = "MoneyGram"\n', "utf-8")
    (tmp_path / "settings.toml").write_text(
        'allow_private_addresses = true\nmax_alert_age = "none"\n'
        '[[webhooks]]\nurl = "https://discord.com/api/webhooks/1/t"\nname = "soc"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path, environ={})
    spec = config.sources[0]
    store = await Store.open(any_db_url, create=False)
    await store.create_schema()
    clock = [T0]
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher, clock=lambda: clock[0])
            # What the dead process got done: the items are stored and held, nothing else.
            from scrapers.registry import build

            items: list[Disclosure] = await build(spec).collect(
                lambda url, conditional=True: fetcher.fetch(url, conditional=False)
            )
            assert len(await store.add_disclosures(items, now=T0, hold=True)) == 1
            assert await store.pending_count() == 0

            # The next poll, by whichever process, finishes the job at once.
            clock[0] = T0 + timedelta(seconds=1)
            later = await pipeline.poll(spec)
            assert [f.match.company.name for f in later.found] == ["MoneyGram"]
            assert await store.pending_count() == 1
            clock[0] = T0 + timedelta(hours=2)
            assert (await pipeline.poll(spec)).new == 0
            assert await store.pending_count() == 1
    finally:
        await store.close()
