"""The watchlist reaches the sources that ask about each company, and no further."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.service.pipeline import Pipeline
from bot.settings import ConfigError, load_config
from bot.store import Store
from scrapers.http import Fetcher
from tests.support.localserver import FIXTURES, LocalServer, Response
from tests.support.scenario import write_config

WATCHLIST = """
[[companies]]
name = "MoneyGram"
aliases = ["MoneyGram International"]

[[companies]]
name = "AT&T"
ticker = "T"

[[companies]]
name = "Change Healthcare"
cik = "0000731766"
"""


# What these configurations share besides their sources and watchlist.
SETTINGS = 'jitter = 0\nmax_alert_age = "none"\n'


def planned(directory: Path, sources: str, watchlist: str = WATCHLIST) -> Path:
    """A configuration of these sources and watchlist, loopback allowed."""
    return write_config(
        directory, sources=sources, watchlist=watchlist, settings=SETTINGS, loopback=True
    )


def test_news_search_becomes_batches_covering_every_watched_company(tmp_path: Path) -> None:
    """The watchlist is asked about in OR-queries; other sources get the companies too."""
    config = load_config(
        planned(
            tmp_path / "config",
            """
[[sources]]
name = "google-news"
kind = "news-search"
url = "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"
terms_per_query = 15

[[sources]]
name = "sec-watchlist-filings"
kind = "sec-filings"
url = "https://data.sec.gov/submissions/"
""",
        ),
        database=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    names = [s.name for s in config.sources]
    assert names == ["google-news-001", "google-news-002", "sec-watchlist-filings"]
    first, second, sec = config.sources
    query = parse_qs(urlsplit(first.url).query)["q"][0]
    # 15 words: the breach terms (10) and when:1d leave 4 for names and ORs.
    assert query == (
        '("MoneyGram" OR "AT&T") '
        '(breach OR cyberattack OR ransomware OR hacked OR "data leak") when:1d'
    )
    assert [s.name for s in second.subjects] == ["Change Healthcare"]
    assert [(s.name, s.cik, s.ticker) for s in sec.subjects] == [
        ("MoneyGram", None, None),
        ("AT&T", None, "T"),
        ("Change Healthcare", "0000731766", None),
    ]
    # An hour for each company unless the entry says otherwise; the two batches half a
    # period apart, each run a hundredth early so a late start still keeps the hour.
    (schedule,) = config.schedules
    assert schedule.search_every == schedule.every == timedelta(hours=1)
    assert first.every == second.every == timedelta(seconds=3564)
    assert (first.options["offset"], second.options["offset"]) == (0.0, 3564 / 2)


def test_a_one_company_query_template_keeps_one_search_per_company(tmp_path: Path) -> None:
    """A query about {name} cannot be batched: each company gets its own search."""
    config = load_config(
        planned(
            tmp_path / "config",
            """
[[sources]]
name = "google-news"
kind = "news-search"
url = "https://news.google.com/rss/search?q={query}"
query = '"{name}" data breach'
every = "30m"
""",
        ),
        database=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    assert [s.name for s in config.sources] == [
        "google-news-moneygram",
        "google-news-at-t",
        "google-news-change-healthcare",
    ]
    assert parse_qs(urlsplit(config.sources[1].url).query)["q"][0] == '"AT&T" data breach when:1d'
    (schedule,) = config.schedules
    assert schedule.every == timedelta(minutes=30) and schedule.batches == 3


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('terms_per_query = "many"', "'terms_per_query' must be a whole number"),
        ("max_url_length = 10", "'max_url_length' must be a whole number >= 100"),
        ('search_every = "soon"', "'search_every': not a duration"),
        ("requests_per_hour = 0", "'requests_per_hour' must be a positive number"),
        ('when = "yesterday"', "'when' must be like"),
    ],
)
def test_bad_search_limits_are_config_errors(tmp_path: Path, line: str, problem: str) -> None:
    """A limit an operator mistyped is reported with its entry, before anything runs."""
    directory = planned(
        tmp_path / "config",
        f"""
[[sources]]
name = "google-news"
kind = "news-search"
url = "https://news.google.com/rss/search?q={{query}}"
{line}
""",
    )
    with pytest.raises(ConfigError, match=re.escape(problem)) as caught:
        load_config(directory, database=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert "source 'google-news'" in str(caught.value)


def test_search_limits_written_as_people_write_them_are_accepted(tmp_path: Path) -> None:
    """A budget written as a string ("1,200") is read as the number it says."""
    config = load_config(
        planned(
            tmp_path / "config",
            """
[[sources]]
name = "google-news"
kind = "news-search"
url = "https://news.google.com/rss/search?q={query}"
requests_per_hour = "1,200"
search_every = "90m"
""",
        ),
        database=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    (schedule,) = config.schedules
    assert schedule.budget == 1200 and schedule.search_every == timedelta(minutes=90)


def test_expanded_name_clashing_with_another_source_is_a_config_error(tmp_path: Path) -> None:
    """A generated name that is already taken is reported, not silently dropped."""
    directory = planned(
        tmp_path / "config",
        """
[[sources]]
name = "news"
kind = "news-search"
url = "https://news.google.com/rss/search?q={query}"

[[sources]]
name = "news-001"
kind = "rss"
url = "https://example.com/feed"
""",
    )
    with pytest.raises(ConfigError, match="'news-001' is used twice"):
        load_config(directory, database=f"sqlite:///{tmp_path / 'db.sqlite'}")


async def test_sources_naming_one_url_share_one_fetch_per_interval(
    tmp_path: Path, web: LocalServer
) -> None:
    """Two sources with the same feed cost one request a pass; failures are not reused."""
    feed = web.url("/feed/")
    config = load_config(
        planned(
            tmp_path / "config",
            f"""
[[sources]]
name = "bleeping-one"
kind = "rss"
url = "{feed}"

[[sources]]
name = "bleeping-two"
kind = "rss"
url = "{feed}"
""",
        ),
        database=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    body = (FIXTURES / "bleepingcomputer/feed.xml").read_bytes()
    web.route(
        "/feed/",
        Response(404, b"gone for now"),
        Response(200, body, {"Content-Type": "application/rss+xml"}),
    )
    store = await Store.open(config.settings.database)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            failed = await pipeline.run_pass(config.enabled_sources)
            assert [r.ok for r in failed.results] == [False, False]
            assert len(web.received(path="/feed/")) == 1

            first = await pipeline.run_pass(config.enabled_sources)
            second = await pipeline.run_pass(config.enabled_sources)
    finally:
        await store.close()
    assert [(r.ok, r.items) for r in first.results] == [(True, 3), (True, 3)]
    assert [(r.ok, r.items) for r in second.results] == [(True, 3), (True, 3)]
    # One request per pass after the failure, however many sources name the URL: a source
    # polling again gets a fresh answer, never the one it already had.
    assert len(web.received(path="/feed/")) == 3
    # Each source records the items once; the shared answer adds nothing new later.
    assert [r.new for r in first.results] == [3, 3]
    assert [r.new for r in second.results] == [0, 0]


async def test_a_shared_page_never_crosses_the_private_address_guard(
    tmp_path: Path, web: LocalServer
) -> None:
    """A source not allowed on loopback is refused even when another source just fetched it."""
    feed = web.url("/feed/")
    directory = planned(
        tmp_path / "config",
        f"""
[[sources]]
name = "intranet"
kind = "rss"
url = "{feed}"
allow_private = true

[[sources]]
name = "public-only"
kind = "rss"
url = "{feed}"
""",
    )
    (directory / "settings.toml").write_text('jitter = 0\nmax_alert_age = "none"\n', "utf-8")
    config = load_config(directory, database=f"sqlite:///{tmp_path / 'db.sqlite'}")
    body = (FIXTURES / "bleepingcomputer/feed.xml").read_bytes()
    web.route("/feed/", Response(200, body, {"Content-Type": "application/rss+xml"}))
    store = await Store.open(config.settings.database)
    try:
        async with Fetcher(Pipeline.fetch_policy(config)) as fetcher:
            pipeline = Pipeline(config, store, fetcher)
            intranet, public = config.enabled_sources
            assert (await pipeline.poll(intranet)).ok
            refused = await pipeline.poll(public)
    finally:
        await store.close()
    assert not refused.ok
    assert refused.items == 0
    assert "port" in (refused.error or "") or "not a public address" in (refused.error or "")
    assert len(web.received(path="/feed/")) == 1
