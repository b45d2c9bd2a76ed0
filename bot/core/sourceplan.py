"""Turn configured sources and the watchlist into the sources that are polled.

Some sources ask about each watched company (SEC filings by CIK, a news search per
company): they get the watchlist as :class:`~scrapers.base.Subject` records, and a
per-company template expands into one source per company.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.core.watchlist import Company, Watchlist
from scrapers.base import SourceSpec, Subject
from scrapers.registry import expand


def subject_of(company: Company) -> Subject:
    """What a source may know of a watched company."""
    return Subject(
        name=company.name,
        aliases=company.aliases,
        cik=company.cik,
        ticker=company.ticker,
        domains=company.domains,
    )


def plan_sources(specs: Iterable[SourceSpec], watchlist: Watchlist) -> tuple[SourceSpec, ...]:
    """Give each source the watched companies and expand per-company templates."""
    subjects = tuple(subject_of(c) for c in watchlist.companies)
    planned: list[SourceSpec] = []
    names: set[str] = set()
    for spec in specs:
        for one in expand(replace(spec, subjects=subjects)):
            if one.name in names:
                raise ValueError(f"source name {one.name!r} is used twice after expansion")
            names.add(one.name)
            planned.append(one)
    return tuple(planned)
