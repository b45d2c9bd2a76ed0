"""News searches that cover every watched company, batched into OR-queries.

One ``kind = "news-search"`` entry with a URL template (``{query}`` is replaced by the
URL-encoded query) stands for the searches that cover the whole watchlist. The query
template's ``{names}`` becomes the quoted names of a group of companies joined by ``OR``,
so one request asks about many companies; the matcher later tells which company each
result is about, as for any other feed. Companies are packed, in the order they are
watched, into as few queries as the search's limits allow:

``terms_per_query`` (default 32)
    Words one query may have, counting every word: those of each quoted name, each
    ``OR``, the rest of the template and the ``when:`` window. Google's web search
    ignores words past its 32nd without saying so, which would drop the last companies
    of a batch silently; whether its News RSS search applies the same cap is not
    documented, so the default keeps to it. ``0`` lifts the cap (the URL length alone
    then decides, about ten times as many companies a query).
``max_url_length`` (default 2000)
    Characters of the whole request URL: Google answers 400 beyond about 2,038, and a
    Japanese name costs nine URL characters per character once percent-encoded.
``names_per_company`` (default 4)
    How many of a company's names (its name, then its aliases) a query asks for. A name
    that contains another chosen one ("MoneyGram International" beside "MoneyGram") adds
    nothing to an OR search and is left out.
``when`` (default ``"1d"``)
    Google's recency filter, appended as ``when:1d``: a search answers at most 100 items
    in relevance order, and without it old, famous breaches of a common name would fill
    them. ``when = ""`` leaves it out.

A template with ``{name}`` and no ``{names}`` asks about one company at a time: the entry
then expands into one search per company, named ``<name>-<company>``, as before batching
existed. Batches are keyed ``<key>-001``, ``<key>-002``, ... and shown as ``<name> 001``
(``<name>: <company>`` for a search per company) when the entry's name is not written as
its key; how often each runs is the source plan's business (``bot/core/sourceplan.py``).

A search host that starts refusing (its "unusual traffic" page, 429 or 503) is left alone
by every batch of this process for ``pause`` (default 1h), each batch coming back at its
own moment so the return is no burst.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote_plus, urlsplit

from scrapers.base import Fetch, Page, SourceSpec, Subject
from scrapers.errors import FetchError, HTTPStatusError
from scrapers.models import Disclosure
from scrapers.rss import FeedScraper

log = logging.getLogger(__name__)

DEFAULT_QUERY = '{names} (breach OR cyberattack OR ransomware OR hacked OR "data leak")'
MAX_NAMES = 4  # a company's first names are its main ones
TERMS_PER_QUERY = 32
MAX_URL_LENGTH = 2000
DEFAULT_WHEN = "1d"
DEFAULT_PAUSE = 3600.0  # seconds a blocked search host is left alone
FEED_CAP = 100  # a search feed answers at most this many items
_BLOCK_STATUSES = frozenset({429, 503})
_WHEN = re.compile(r"^\d{1,3}[hd]$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@dataclass(frozen=True, slots=True)
class SearchLimits:
    """What one query may hold (see the module's docstring)."""

    terms_per_query: int = TERMS_PER_QUERY  # 0: no cap on words
    max_url_length: int = MAX_URL_LENGTH
    names_per_company: int = MAX_NAMES

    @classmethod
    def from_options(cls, options: dict[str, Any] | Any) -> SearchLimits:
        """The limits an entry's options set, checked; raise ``ValueError`` if invalid."""

        def number(key: str, default: int, low: int) -> int:
            value = options.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"a news-search {key!r} must be a whole number >= {low}")
            return value

        return cls(
            terms_per_query=number("terms_per_query", TERMS_PER_QUERY, 0),
            max_url_length=number("max_url_length", MAX_URL_LENGTH, 100),
            names_per_company=number("names_per_company", MAX_NAMES, 1),
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """One search: the companies it asks about and the request it becomes."""

    subjects: tuple[Subject, ...]
    query: str
    url: str
    terms: int
    # Even alone, this company's query breaks a limit (a very long name): searched anyway.
    over_limits: bool = False


def count_terms(query: str) -> int:
    """Words of ``query`` as a search engine counts them: each word, ``OR`` included."""
    return len(query.replace("(", " ").replace(")", " ").replace('"', " ").split())


def _folded(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# Characters quote_plus leaves as they are; a space becomes "+", every other byte "%XX".
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~ ")
_UNSAFE = bytes(b for b in range(256) if b not in _SAFE)


def encoded_length(text: str) -> int:
    """``len(quote_plus(text))``, counted without building the encoded string."""
    raw = text.encode("utf-8")
    return len(raw) + 2 * (len(raw) - len(raw.translate(None, _UNSAFE)))


def _contains(longer: str, shorter: str) -> bool:
    """Whether searching ``shorter`` as a phrase also finds ``longer``."""
    at = longer.find(shorter)
    if at < 0:
        return False
    if _CJK.search(shorter):
        return True  # no word boundaries in Japanese text
    while at >= 0:
        end = at + len(shorter)
        if (at == 0 or not longer[at - 1].isalnum()) and (
            end == len(longer) or not longer[end].isalnum()
        ):
            return True
        at = longer.find(shorter, at + 1)
    return False


def search_names(subject: Subject, limit: int = MAX_NAMES) -> list[str]:
    """The names to search for ``subject``: its first distinct ones, none implied by another."""
    if not subject.aliases:  # most companies: nothing to compare
        name = " ".join(subject.name.replace('"', " ").split())
        return [name] if name else []
    chosen: list[str] = []
    folded: list[str] = []
    for raw in (subject.name, *subject.aliases):
        name = " ".join(raw.replace('"', " ").split())
        key = _folded(name)
        if not key or any(_contains(key, other) for other in folded):
            continue
        # A later, shorter name makes an earlier, longer one redundant.
        keep = [i for i, other in enumerate(folded) if not _contains(other, key)]
        chosen = [chosen[i] for i in keep]
        folded = [folded[i] for i in keep]
        chosen.append(name)
        folded.append(key)
        if len(chosen) >= limit:
            break
    return chosen


def names_clause(names: Sequence[str]) -> str:
    """``"A"`` for one name, ``("A" OR "B")`` for more."""
    quoted = " OR ".join(f'"{n}"' for n in names)
    return f"({quoted})" if len(names) > 1 else quoted


def with_window(template: str, when: str) -> str:
    """The template with Google's ``when:`` filter, unless it has one or none is wanted."""
    if not when or "when:" in template:
        return template
    return f"{template} when:{when}"


def query_for(subject: Subject, template: str = DEFAULT_QUERY, limit: int = MAX_NAMES) -> str:
    """The search query for one company: its names, quoted, OR-ed, inside ``template``."""
    clause = names_clause(search_names(subject, limit) or [subject.name])
    return template.replace("{names}", clause).replace("{name}", subject.name)


def search_url(url_template: str, query: str) -> str:
    return url_template.replace("{query}", quote_plus(query))


def pack(
    subjects: Iterable[Subject],
    url_template: str,
    template: str = DEFAULT_QUERY,
    limits: SearchLimits | None = None,
) -> list[Batch]:
    """Group ``subjects``, in order, into the fewest queries within ``limits``.

    Greedy in the order given, so companies added at the end of a watchlist leave the
    earlier batches as they were. A company whose names do not all fit in a query of its
    own is asked about with fewer of them; one whose name alone does not fit still gets
    a query of its own, flagged ``over_limits``.
    """
    limits = limits or SearchLimits()
    bare = template.replace("{names}", "")
    # What every query costs before its names: the template's words and URL characters.
    # Percent-encoding maps each character on its own, so lengths add up.
    base_terms = count_terms(bare)
    base_url = len(search_url(url_template, bare))
    join_url = encoded_length(" OR ")
    parens_url = encoded_length("()")

    def fits(count: int, words: int, encoded: int) -> bool:
        terms = base_terms + words + max(count - 1, 0)  # each OR is a word too
        url = base_url + encoded + max(count - 1, 0) * join_url + (parens_url if count > 1 else 0)
        cap = limits.terms_per_query
        return (cap == 0 or terms <= cap) and url <= limits.max_url_length

    def batch(group: list[Subject], names: list[str], over: bool = False) -> Batch:
        query = template.replace("{names}", names_clause(names))
        return Batch(tuple(group), query, search_url(url_template, query), count_terms(query), over)

    batches: list[Batch] = []
    group: list[Subject] = []
    names: list[str] = []
    words = encoded = 0
    for subject in subjects:
        own = search_names(subject, limits.names_per_company) or [subject.name]
        own_words = [count_terms(n) for n in own]
        own_encoded = [encoded_length(f'"{n}"') for n in own]
        if group and not fits(len(names) + len(own), words + sum(own_words),
                              encoded + sum(own_encoded)):  # fmt: skip
            batches.append(batch(group, names))
            group, names, words, encoded = [], [], 0, 0
        if not group:
            # Alone and still too long: ask for fewer of its names, down to its name.
            while len(own) > 1 and not fits(len(own), sum(own_words), sum(own_encoded)):
                own, own_words, own_encoded = own[:-1], own_words[:-1], own_encoded[:-1]
            if not fits(len(own), sum(own_words), sum(own_encoded)):
                batches.append(batch([subject], own, over=True))
                continue
        group.append(subject)
        names.extend(own)
        words += sum(own_words)
        encoded += sum(own_encoded)
    if group:
        batches.append(batch(group, names))
    return batches


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


def batch_number(number: int, total: int) -> str:
    """``007``: a batch's number, zero-padded to the width of the count (at least three)."""
    return f"{number:0{max(3, len(str(total)))}d}"


def batch_name(entry: str, number: int, total: int) -> str:
    """``google-news-007``: the entry's key and the batch's number, zero-padded."""
    suffix = batch_number(number, total)
    return f"{entry[: 62 - len(suffix)].rstrip('-')}-{suffix}"


def _batch_display(spec: SourceSpec, number: int, total: int) -> str:
    """How one batch is shown: "Google News 007" for an entry named "Google News"; an
    entry written as its key gives keys ("google-news-007")."""
    if spec.display_name == spec.name:
        return batch_name(spec.name, number, total)
    return f"{spec.display_name} {batch_number(number, total)}"


class HostPause:
    """Which search hosts refused us lately, so no batch of this process asks again soon."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def remaining(self, host: str) -> float:
        """Seconds the host is still left alone (0 if it is not)."""
        until = self._until.get(host)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._until[host]
            return 0.0
        return left

    def pause(self, host: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._until[host] = max(until, self._until.get(host, until))

    def clear(self) -> None:
        self._until.clear()


PAUSES = HostPause()


class SearchBlockedError(FetchError):
    """The search host refuses us for now; ``retry_after`` says when this batch tries again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def looks_blocked(page: Page) -> bool:
    """Google's "unusual traffic" page (HTML where a feed belongs)."""
    if page.content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = page.body[:4096].lower()
    return b"unusual traffic" in head and b"<rss" not in head


class NewsSearchScraper(FeedScraper):
    """The results of one search (one batch of companies), an RSS feed read like any other."""

    kind = "news-search"
    # How often each company is searched unless the entry says (``search_every``).
    default_every: ClassVar[timedelta] = timedelta(hours=1)

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        options = spec.options
        if "{query}" not in spec.url and not options.get("expanded_from"):
            raise ValueError("a news-search url needs a {query} placeholder")
        template = options.get("query", DEFAULT_QUERY)
        if not isinstance(template, str) or not ("{names}" in template or "{name}" in template):
            raise ValueError("a news-search 'query' needs a {names} or {name} placeholder")
        when = options.get("when", DEFAULT_WHEN)
        if not isinstance(when, str) or (when.strip() and not _WHEN.match(when.strip())):
            raise ValueError('a news-search \'when\' must be like "1h" or "1d" (or "" for none)')
        self.limits = SearchLimits.from_options(options)
        self.template = with_window(template, when.strip())
        self.pause_seconds = _seconds(options.get("pause", DEFAULT_PAUSE), "pause")

    @classmethod
    def expand(cls, spec: SourceSpec) -> list[SourceSpec]:
        """The searches that cover ``spec.subjects``: batches, or one per company."""
        if spec.options.get("expanded_from"):
            return [spec]
        scraper = cls(spec)
        if "{names}" not in scraper.template or "{name}" in scraper.template:
            # The template asks about one company at a time.
            return cls._one_per_company(spec, scraper.template, scraper.limits)
        batches = pack(spec.subjects, spec.url, scraper.template, scraper.limits)
        return [
            replace(
                spec,
                name=batch_name(spec.name, number, len(batches)),
                display_name=_batch_display(spec, number, len(batches)),
                url=batch.url,
                subjects=batch.subjects,
                options={
                    **spec.options,
                    "expanded_from": spec.name,
                    "batch": number,
                    "batches": len(batches),
                    "terms": batch.terms,
                    "over_limits": batch.over_limits,
                },
            )
            for number, batch in enumerate(batches, start=1)
        ]

    @staticmethod
    def _one_per_company(spec: SourceSpec, template: str, limits: SearchLimits) -> list[SourceSpec]:
        chosen: list[tuple[str, Subject, str]] = []
        seen: set[str] = set()
        for subject in spec.subjects:
            name = f"{spec.name}-{slug(subject.name)}"[:63].strip("-")
            if name not in seen:
                seen.add(name)
                chosen.append(
                    (name, subject, query_for(subject, template, limits.names_per_company))
                )
        return [
            replace(
                spec,
                name=name,
                display_name=_expanded_display(spec, subject, name),
                url=search_url(spec.url, query),
                subjects=(subject,),
                options={
                    **spec.options,
                    "expanded_from": spec.name,
                    "batch": number,
                    "batches": len(chosen),
                    "terms": count_terms(query),
                    "over_limits": False,
                },
            )
            for number, (name, subject, query) in enumerate(chosen, start=1)
        ]

    async def collect(self, fetch: Fetch) -> list[Disclosure] | None:
        if "{query}" in self.spec.url:  # the template itself is never fetched
            return []
        host = urlsplit(self.spec.url).hostname or ""
        waiting = PAUSES.remaining(host)
        if waiting > 0:
            raise SearchBlockedError(
                f"{host} refused a search {int(self.pause_seconds - waiting)}s ago; "
                f"not asking again for {int(waiting)}s",
                retry_after=self._comeback(waiting),
            )

        async def guarded(url: str, *, conditional: bool = True) -> Page | None:
            try:
                page = await fetch(url, conditional=conditional)
            except HTTPStatusError as exc:
                if exc.status in _BLOCK_STATUSES:
                    wait = max(self.pause_seconds, exc.retry_after or 0.0)
                    PAUSES.pause(host, wait)
                    raise SearchBlockedError(
                        f"HTTP {exc.status} from {host}: searches paused for {int(wait)}s",
                        retry_after=self._comeback(wait),
                    ) from None
                raise
            if page is not None and looks_blocked(page):
                PAUSES.pause(host, self.pause_seconds)
                raise SearchBlockedError(
                    f"{host} answered with a page about unusual traffic instead of results; "
                    f"searches paused for {int(self.pause_seconds)}s",
                    retry_after=self._comeback(self.pause_seconds),
                )
            return page

        items = await super().collect(guarded)
        if items is not None and len(items) >= FEED_CAP:
            log.warning(
                "%s: %d results, as many as a search answers; some may be cut "
                "(a smaller terms_per_query or a shorter 'when' keeps batches under it)",
                self.spec.display_name,
                len(items),
            )
        return items

    def _comeback(self, wait: float) -> float:
        """When this batch asks again: after ``wait``, at its own place in the batches'
        order, so the batches return spread over one more ``wait``, not all at once."""
        number = int(self.spec.options.get("batch", 1) or 1)
        total = max(1, int(self.spec.options.get("batches", 1) or 1))
        return wait + wait * (number - 1) / total


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value: Any, key: str) -> float:
    """Seconds from a number or a duration such as ``"90m"`` or ``"1h30m"``."""
    problem = ValueError(f'a news-search {key!r} must be a duration like "1h"')
    if isinstance(value, bool):
        raise problem
    if isinstance(value, int | float):
        if value <= 0:
            raise problem
        return float(value)
    if not isinstance(value, str):
        raise problem
    text = value.strip().replace(" ", "")
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(m.group(0) for m in parts) != text:
        raise problem
    total = sum(float(m[1]) * _UNIT[m[2].lower()] for m in parts)
    if total <= 0:
        raise problem
    return total
