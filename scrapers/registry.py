"""Which class implements which ``kind`` of source: one explicit table, loaded lazily.

A new kind is one line here (``kind -> "module:Class"``), a class that declares the same
``kind``, and its recorded pages under ``tests/fixtures/``; a test walks this package and
fails when a scraper class is missing from the table or has no fixtures. Modules are
imported only when their kind is first built, so reading the configuration does not load
every parser.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache

from scrapers.base import Scraper, SourceSpec

KINDS: Mapping[str, str] = {
    "rss": "scrapers.rss:FeedScraper",
    "html": "scrapers.html:PressPageScraper",
    "news-search": "scrapers.newssearch:NewsSearchScraper",
    "sec-search": "scrapers.sec:EdgarSearchScraper",
    "sec-filings": "scrapers.sec:EdgarFilingsScraper",
    "ca-ag": "scrapers.state_ag:CaliforniaScraper",
    "wa-ag": "scrapers.state_ag:WashingtonScraper",
    "maine-ag": "scrapers.state_ag:MaineScraper",
    "tdnet": "scrapers.tdnet:TdnetScraper",
    "hhs-ocr": "scrapers.hhs:HhsBreachPortalScraper",
    "ransomware-live": "scrapers.trackers:RansomwareLiveScraper",
    "ransomlook": "scrapers.trackers:RansomLookScraper",
    "hibp": "scrapers.trackers:HaveIBeenPwnedScraper",
}


def kinds() -> list[str]:
    """Return every known kind, sorted."""
    return sorted(KINDS)


@cache
def scraper_class(kind: str) -> type[Scraper]:
    """The class that implements ``kind``, imported on first use."""
    try:
        where = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r} (known: {', '.join(kinds())})") from None
    module, _, name = where.partition(":")
    cls: type[Scraper] = getattr(importlib.import_module(module), name)
    if cls.kind != kind:
        raise TypeError(f"{where} declares kind {cls.kind!r}, registered as {kind!r}")
    return cls


def build(spec: SourceSpec) -> Scraper:
    """Make the scraper for one configured source."""
    return scraper_class(spec.kind)(spec)  # type: ignore[call-arg]


def expand(spec: SourceSpec) -> list[SourceSpec]:
    """The sources one configured entry stands for (a per-company template gives many)."""
    cls = scraper_class(spec.kind) if spec.kind in KINDS else None
    expander = getattr(cls, "expand", None)
    if expander is None:
        return [spec]
    result: list[SourceSpec] = expander(spec)
    return result
