"""Find the RSS or Atom feed behind a URL a server gives ``/sources add``.

Server admins are not the operator: their URLs are always fetched with the guard against
private addresses on, over http(s) on the standard ports only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from bs4 import BeautifulSoup

from scrapers.errors import ScraperError
from scrapers.http import Fetcher

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+xml")


class FeedNotFound(ValueError):
    """No usable feed at or behind the URL; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class FoundFeed:
    feed_url: str
    title: str | None
    entries: int


def check_url(url: str, *, any_port: bool = False) -> str:
    """Return ``url`` if it is an http(s) URL on port 80 or 443, else raise FeedNotFound."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedNotFound("The URL must start with http:// or https://.")
    try:
        port = parts.port
    except ValueError:
        raise FeedNotFound("The URL has an invalid port.") from None
    if port not in (None, 80, 443) and not any_port:
        raise FeedNotFound("Only the standard ports (80 and 443) are allowed.")
    if parts.username or parts.password:
        raise FeedNotFound("The URL must not contain a user name or password.")
    return url


def _as_feed(body: bytes, content_type: str) -> feedparser.FeedParserDict | None:
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers={"content-type": content_type or "application/xml"}
    )
    if parsed.get("version") and (parsed.entries or not parsed.bozo):
        return parsed
    return None


def feed_links(html: bytes, base: str) -> list[str]:
    """The feed URLs a page announces with ``<link rel="alternate" type="...">``."""
    soup = BeautifulSoup(html, "lxml")
    found: list[str] = []
    for link in soup.find_all("link"):
        rel = link.get("rel") or []
        rels = [rel] if isinstance(rel, str) else list(rel)
        kind = str(link.get("type") or "").lower().split(";", 1)[0].strip()
        href = link.get("href")
        if "alternate" in [r.lower() for r in rels] and kind in FEED_TYPES and href:
            found.append(urljoin(base, str(href)))
    return list(dict.fromkeys(found))


async def discover_feed(fetcher: Fetcher, url: str, *, allow_private: bool = False) -> FoundFeed:
    """Fetch ``url``; return it if it is a feed, else the first feed its page links to.

    ``allow_private`` exists for tests against servers on loopback; the bot never sets it.
    """
    url = check_url(url, any_port=allow_private)
    try:
        page = await fetcher.fetch(url, conditional=False, allow_private=allow_private)
    except ScraperError as exc:
        raise FeedNotFound(f"Could not fetch the page: {exc}") from None
    if page is None:
        raise FeedNotFound("The server answered without a body.")
    feed = _as_feed(page.body, page.content_type)
    if feed is not None:
        return FoundFeed(page.url, feed.feed.get("title"), len(feed.entries))
    for candidate in feed_links(page.body, page.url)[:3]:
        try:
            check_url(candidate, any_port=allow_private)
            linked = await fetcher.fetch(candidate, conditional=False, allow_private=allow_private)
        except (ScraperError, FeedNotFound):
            continue
        if linked is None:
            continue
        feed = _as_feed(linked.body, linked.content_type)
        if feed is not None:
            return FoundFeed(linked.url, feed.feed.get("title"), len(feed.entries))
    raise FeedNotFound("No RSS or Atom feed found at that URL or linked from that page.")


def feed_finder(fetcher: Fetcher, *, allow_private: bool = False) -> Any:
    """A ``url -> FoundFeed`` callable for the bot's ``/sources add``."""

    async def find(url: str) -> FoundFeed:
        return await discover_feed(fetcher, url, allow_private=allow_private)

    return find
