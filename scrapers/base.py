"""The one protocol every source implements."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Protocol

from scrapers.models import Disclosure


@dataclass(frozen=True, slots=True)
class Subject:
    """A watched company as sources see it: names and identifiers, nothing about alerts."""

    name: str
    aliases: tuple[str, ...] = ()
    cik: str | None = None  # SEC Central Index Key, digits only
    ticker: str | None = None
    domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as configured: one ``[[sources]]`` entry of ``sources.toml``.

    ``name`` is the source's stable key (what the database and its items know it by);
    ``display_name`` is its name as the operator wrote it, for people (logs, tables,
    alerts). Without one, the key is shown.
    """

    name: str
    kind: str
    url: str
    every: timedelta = timedelta(minutes=10)
    enabled: bool = True
    # Every other key of the entry, for the kind to interpret (selectors, ciks, ...).
    options: Mapping[str, Any] = field(default_factory=dict)
    # The operator's own configuration may opt in to private addresses (an intranet page).
    allow_private: bool = False
    # The watched companies, for sources that ask about each one (SEC filings by CIK,
    # a news search per company). Filled in from the watchlist when the configuration loads.
    subjects: tuple[Subject, ...] = ()
    display_name: str = ""

    def __post_init__(self) -> None:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.name)


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched response body with what parsing needs to know about it."""

    url: str
    body: bytes
    content_type: str = ""
    encoding: str | None = None  # charset from the Content-Type header, if any
    status: int = 200  # the HTTP status it came with (a 2xx)


class Fetch(Protocol):
    """Fetch one URL under the shared fetch policy; ``None`` means not modified (304)."""

    async def __call__(self, url: str, *, conditional: bool = True) -> Page | None: ...


class Scraper(Protocol):
    """A source: fetches what it needs through ``fetch`` and parses it purely."""

    kind: ClassVar[str]
    spec: SourceSpec

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        """Fetch and parse; ``None`` when nothing changed since the last poll."""
        ...

    def parse(self, page: Page) -> list[Disclosure]:
        """Turn one page into disclosures: no I/O, no clock."""
        ...


# Pages up to this size are parsed on the event loop, larger ones in a thread.
INLINE_PARSE_BYTES = 64 * 1024


class PageScraper:
    """Base for sources that are one page: fetch ``spec.url``, then ``parse`` it."""

    kind: ClassVar[str] = ""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        page = await fetch(self.spec.url)
        if page is None:
            return None
        if len(page.body) <= INLINE_PARSE_BYTES:
            # A typical feed parses in about a millisecond: less than handing it to a
            # thread and back costs, and no thread competes with the loop for the GIL.
            return self.parse(page)
        # Parsing a large page takes a while; in a thread it does not stall other fetches.
        return await asyncio.to_thread(self.parse, page)

    def parse(self, page: Page) -> list[Disclosure]:  # pragma: no cover - abstract
        raise NotImplementedError
