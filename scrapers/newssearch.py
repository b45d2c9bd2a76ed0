"""A news search per watched company, generated from the watchlist.

One ``kind = "news-search"`` entry with a URL template (``{query}`` is replaced by the
URL-encoded query) stands for one feed per watched company: when the configuration
loads, the entry is expanded into a source keyed ``<key>-<company>`` for each company
(shown as ``<name>: <company>`` when the entry's name is not written as its key),
each with its own health record and back-off. The query template's ``{names}`` becomes
the company's quoted names joined by ``OR``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import replace
from urllib.parse import quote_plus

from scrapers.base import Fetch, SourceSpec, Subject
from scrapers.models import Disclosure
from scrapers.rss import FeedScraper

DEFAULT_QUERY = '{names} (breach OR cyberattack OR ransomware OR hacked OR "data leak")'
MAX_NAMES = 4  # a long OR-list dilutes the search; the first names are the main ones


def query_for(subject: Subject, template: str = DEFAULT_QUERY) -> str:
    """The search query for one company: its names, quoted, OR-ed, inside ``template``."""
    names = list(dict.fromkeys((subject.name, *subject.aliases)))[:MAX_NAMES]
    quoted = " OR ".join(f'"{n}"' for n in names)
    if len(names) > 1:
        quoted = f"({quoted})"
    return template.replace("{names}", quoted).replace("{name}", subject.name)


def slug(name: str) -> str:
    """A kebab-case piece of a source name for ``name`` (a short hash if none is left)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not cleaned:
        cleaned = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return cleaned[:40].strip("-")


def _expanded_display(spec: SourceSpec, subject: Subject, key: str) -> str:
    """How one company's search is shown: "Google News: Casio" for a template named
    "Google News"; a template written as its key gives keys ("google-news-casio")."""
    if spec.display_name == spec.name:
        return key
    return f"{spec.display_name}: {subject.name}"


class NewsSearchScraper(FeedScraper):
    """One company's news search results, an RSS feed read like any other."""

    kind = "news-search"

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        if "{query}" not in spec.url and not spec.options.get("expanded_from"):
            raise ValueError("a news-search url needs a {query} placeholder")
        template = spec.options.get("query", DEFAULT_QUERY)
        if not isinstance(template, str) or not ("{names}" in template or "{name}" in template):
            raise ValueError("a news-search 'query' needs a {names} or {name} placeholder")
        self.template = template

    @classmethod
    def expand(cls, spec: SourceSpec) -> list[SourceSpec]:
        """One source per watched company, its URL filled in with that company's query."""
        if spec.options.get("expanded_from"):
            return [spec]
        template = str(spec.options.get("query", DEFAULT_QUERY))
        specs: list[SourceSpec] = []
        seen: set[str] = set()
        for subject in spec.subjects:
            name = f"{spec.name}-{slug(subject.name)}"[:63].strip("-")
            if name in seen:
                continue
            seen.add(name)
            url = spec.url.replace("{query}", quote_plus(query_for(subject, template)))
            specs.append(
                replace(
                    spec,
                    name=name,
                    display_name=_expanded_display(spec, subject, name),
                    url=url,
                    subjects=(subject,),
                    options={**spec.options, "expanded_from": spec.name},
                )
            )
        return specs

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        if "{query}" in self.spec.url:  # the template itself is never fetched
            return []
        return await super().collect(fetch)
