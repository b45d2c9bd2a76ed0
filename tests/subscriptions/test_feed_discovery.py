"""Finding a feed behind a URL a server gives, under the private-address guard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.subscriptions.discovery import FeedNotFound, check_url, discover_feed, feed_links
from scrapers.http import Fetcher, FetchPolicy
from tests.support.localserver import FIXTURES, LocalServer, Response


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(FetchPolicy(retries=0, host_spacing=0.0)) as f:
        yield f


def test_feed_links_reads_alternate_links() -> None:
    """Only rel=alternate links of a feed type count, resolved against the page."""
    html = (FIXTURES / "discord" / "company-page.html").read_bytes()
    assert feed_links(html, "https://example.com/newsroom") == [
        "https://example.com/newsroom/feed.xml"
    ]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/feed", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https://example.com:8443/feed", "standard ports"),
        ("https://user:pw@example.com/feed", "user name or password"),
    ],
)
def test_check_url_refuses(url: str, why: str) -> None:
    """Other schemes, ports and credentials in URLs are refused with a reason."""
    with pytest.raises(FeedNotFound, match=why):
        check_url(url)


async def test_direct_feed_url(fetcher: Fetcher, web: LocalServer) -> None:
    """A URL that is itself a feed is taken as is."""
    web.serve_file("/feed", "discord/bleepingcomputer.xml", "application/rss+xml")
    found = await discover_feed(fetcher, web.url("/feed"), allow_private=True)
    assert (found.feed_url, found.title, found.entries) == (web.url("/feed"), "BleepingComputer", 2)


async def test_page_without_feed(fetcher: Fetcher, web: LocalServer) -> None:
    """A page that links to no feed is refused."""
    web.route(
        "/",
        Response(200, b"<html><head><title>x</title></head></html>", {"Content-Type": "text/html"}),
    )
    with pytest.raises(FeedNotFound, match="No RSS or Atom feed"):
        await discover_feed(fetcher, web.url("/"), allow_private=True)


async def test_guard_on_by_default(fetcher: Fetcher, web: LocalServer) -> None:
    """Without the test-only override, loopback is never fetched."""
    web.serve_file("/feed.xml", "discord/bleepingcomputer.xml", "application/rss+xml")
    with pytest.raises(FeedNotFound, match="not a public address"):
        await discover_feed(fetcher, "http://127.0.0.1/feed.xml")
    assert web.received() == []
