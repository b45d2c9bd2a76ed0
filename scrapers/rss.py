"""RSS 0.9x/1.0/2.0 and Atom feeds: plain ones read quickly, the rest through feedparser."""

from __future__ import annotations

import io
from calendar import timegm
from datetime import UTC, datetime
from typing import Any, ClassVar

import feedparser

from scrapers.base import Page, PageScraper
from scrapers.dates import parse_date
from scrapers.errors import ParseError
from scrapers.models import Disclosure, Evidence
from scrapers.plainfeed import Entry, read_plain_feed
from scrapers.text import clean_text


def _entry_date(entry: Any) -> datetime | None:
    # dict.get: FeedParserDict.get("updated*") falls back to "published*" with a
    # DeprecationWarning; we ask for each key ourselves.
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)
        if parsed:
            try:
                return datetime.fromtimestamp(timegm(parsed), UTC)
            except (OverflowError, ValueError):
                continue
    # feedparser gives up on some odd dates; try our lenient reader on the raw text.
    for key in ("published", "updated", "dc_date"):
        raw = dict.get(entry, key)
        if raw:
            found = parse_date(raw)
            if found:
                return found
    return None


class FeedScraper(PageScraper):
    """Any RSS or Atom feed; the entry's id is its identity, else its link."""

    kind = "rss"

    # Plain feeds are read by scrapers/plainfeed.py; False sends every feed to feedparser.
    quick_reader: ClassVar[bool] = True

    def parse(self, page: Page) -> list[Disclosure]:
        evidence = Evidence(self.spec.options.get("evidence", Evidence.REPORTED))
        plain = read_plain_feed(page.body, page.encoding) if self.quick_reader else None
        if plain is not None:
            entries, language = plain.entries, plain.language
        else:
            entries, language = self._feedparser_entries(page)
        language = self.spec.options.get("language") or language
        items: list[Disclosure] = []
        for entry in entries:
            title = clean_text(entry.title, 500)
            link = entry.link.strip()
            if not title or not link:
                continue
            items.append(
                Disclosure(
                    source=self.spec.name,
                    title=title,
                    url=link,
                    published=entry.published,
                    summary=clean_text(entry.summary),
                    guid=entry.guid or None,
                    evidence=evidence,
                    language=language or None,
                )
            )
        return items

    @staticmethod
    def _feedparser_entries(page: Page) -> tuple[list[Entry], str | None]:
        """What feedparser reads from a feed that is not plain (see scrapers/plainfeed.py)."""
        # feedparser takes a bare string for a path or URL: always hand it bytes.
        content_type = page.content_type or "application/xml"
        if page.encoding:
            # The header's charset, so feedparser can weigh it against the XML declaration.
            content_type += f"; charset={page.encoding}"
        feed = feedparser.parse(
            io.BytesIO(page.body), response_headers={"content-type": content_type}
        )
        if feed.bozo and not feed.entries:
            reason = feed.get("bozo_exception")
            raise ParseError(f"not a readable feed: {reason or 'no entries'}")
        if not feed.entries and not feed.get("feed") and feed.get("version", "") == "":
            raise ParseError("not a feed (no RSS or Atom root element)")
        entries: list[Entry] = []
        for entry in feed.entries:
            link = entry.get("link") or ""
            if not link:
                for candidate in entry.get("links", []):
                    if candidate.get("href"):
                        link = candidate["href"]
                        break
            summary = entry.get("summary") or ""
            if not summary and entry.get("content"):
                summary = entry["content"][0].get("value", "")
            entries.append(
                Entry(
                    title=entry.get("title") or "",
                    link=link,
                    summary=summary,
                    guid=entry.get("id") or None,
                    published=_entry_date(entry),
                )
            )
        if feed.bozo and not any(clean_text(e.title) and e.link.strip() for e in entries):
            # Broken XML that still yielded entry shells (a truncated body): say so, rather
            # than report a healthy, empty feed.
            raise ParseError(f"not a readable feed: {feed.get('bozo_exception') or 'no items'}")
        return entries, feed.get("feed", {}).get("language")
