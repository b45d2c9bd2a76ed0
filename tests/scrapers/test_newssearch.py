"""News searches in batches: packed within the query limits, and polite when refused."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers import newssearch
from scrapers.base import Page, SourceSpec, Subject
from scrapers.http import Fetcher, FetchPolicy
from scrapers.newssearch import (
    DEFAULT_QUERY,
    HostPause,
    NewsSearchScraper,
    SearchBlockedError,
    SearchLimits,
    count_terms,
    pack,
    search_names,
    with_window,
)
from scrapers.registry import build, expand
from tests.support.localserver import FIXTURES, LocalServer, Response

URL = "https://news.google.com/rss/search?q={query}&hl=en-US&gl=US&ceid=US:en"
TEMPLATE = with_window(DEFAULT_QUERY, "1d")

# Real listed companies as the SEC and JPX lists name them (display form), with the short
# and common-word ones that make searching hard, and Japanese names that cost nine URL
# characters a character.
REAL = [
    Subject("Target", aliases=("TARGET CORP",)),
    Subject("Apple", aliases=("Apple Inc.",)),
    Subject("GAP", aliases=("GAP INC",)),
    Subject("Progress Software", aliases=("PROGRESS SOFTWARE CORP /MA",)),
    Subject("Block", aliases=("Block, Inc.",)),
    Subject("Visa"),
    Subject("Shell", aliases=("Shell plc",)),
    Subject("Delta Air Lines", aliases=("DELTA AIR LINES, INC.",)),
    Subject("Box", aliases=("BOX INC",)),
    Subject("Okta"),
    Subject("AT&T", aliases=("AT and T",)),
    Subject("3M"),
    Subject("Meta Platforms"),
    Subject("UnitedHealth Group"),
    Subject("MoneyGram", aliases=("MoneyGram International",)),
    Subject("カシオ計算機", aliases=("Casio", "CASIO COMPUTER CO.,LTD.")),
    Subject("トヨタ自動車", aliases=("Toyota", "TOYOTA MOTOR CORPORATION")),
    Subject("ソニーグループ", aliases=("Sony",)),
    Subject("任天堂", aliases=("Nintendo",)),
    Subject("日本電信電話", aliases=("NTT",)),
    Subject("三菱ＵＦＪフィナンシャル・グループ", aliases=("Mitsubishi UFJ Financial Group",)),
    Subject("ＫＡＤＯＫＡＷＡ", aliases=("角川",)),
]


def query_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["q"][0]


def many(count: int) -> list[Subject]:
    """``count`` companies: the real ones above, then numbered suppliers."""
    made = [Subject(f"Northwind Supplier {i:05d}") for i in range(max(0, count - len(REAL)))]
    return (REAL + made)[:count]


@pytest.mark.parametrize(
    "limits",
    [SearchLimits(), SearchLimits(terms_per_query=0), SearchLimits(terms_per_query=20)],
    ids=["32-words", "url-only", "20-words"],
)
def test_batches_keep_to_the_limits_and_cover_every_company_once(limits: SearchLimits) -> None:
    """Every company is in exactly one batch, in order, and no query breaks a limit."""
    subjects = many(600)
    batches = pack(subjects, URL, TEMPLATE, limits)
    assert [s for b in batches for s in b.subjects] == subjects
    for batch in batches:
        assert len(batch.url) <= limits.max_url_length
        if limits.terms_per_query:
            assert count_terms(batch.query) <= limits.terms_per_query
        assert query_of(batch.url) == batch.query  # what is sent is what was counted
        assert batch.query.endswith(" when:1d") and not batch.over_limits
        for subject in batch.subjects:
            assert f'"{search_names(subject)[0]}"' in batch.query
    # Greedy: each batch but the last is full, the next company would not have fitted.
    for batch, following in itertools.pairwise(batches):
        grown = pack([*batch.subjects, following.subjects[0]], URL, TEMPLATE, limits)
        assert len(grown) == 2


def test_the_word_cap_costs_many_more_requests_than_the_url_length() -> None:
    """With Google's 32 words a query holds a few companies; by URL length, dozens."""
    subjects = many(2000)
    capped = pack(subjects, URL, TEMPLATE, SearchLimits())
    url_only = pack(subjects, URL, TEMPLATE, SearchLimits(terms_per_query=0))
    # Each name of "Northwind Supplier 00042" is three words and an OR: five a query.
    assert 2000 / len(capped) < 6
    assert 2000 / len(url_only) > 25
    assert max(len(b.url) for b in url_only) > 1900


def test_japanese_names_fill_the_url_with_far_fewer_names() -> None:
    """Percent-encoded kanji cost nine characters each: a third as many names fit."""
    subjects = [Subject(f"日本電信電話{i:04d}") for i in range(300)]
    batches = pack(subjects, URL, TEMPLATE, SearchLimits(terms_per_query=0))
    assert 15 < 300 / len(batches) < 30
    assert all(1900 < len(b.url) <= 2000 for b in batches[:-1])


def test_search_names_leave_out_names_another_one_finds() -> None:
    """An OR search for "MoneyGram" finds "MoneyGram International" too: one name is enough."""
    assert search_names(Subject("MoneyGram", aliases=("MoneyGram International",))) == ["MoneyGram"]
    casio = Subject("Casio", aliases=("Casio Computer", "カシオ", "カシオ計算機"))
    assert search_names(casio) == ["Casio", "カシオ"]
    # A later, shorter name replaces an earlier one it is part of.
    assert search_names(Subject("Casio Computer", aliases=("Casio",))) == ["Casio"]
    # Whole words only: "AT and T" is not part of "AT&T", "Apple" is not in "Applebee's".
    assert search_names(Subject("AT&T", aliases=("AT and T",))) == ["AT&T", "AT and T"]
    assert search_names(Subject("Apple", aliases=("Applebee's",))) == ["Apple", "Applebee's"]
    # Quotes cannot end the phrase early.
    assert search_names(Subject('The "Best" Co')) == ["The Best Co"]
    assert search_names(casio, limit=1) == ["Casio"]


def test_a_company_too_long_for_one_query_is_searched_alone_and_flagged() -> None:
    """Fewer of its names first; its name alone over the limit still gets a query."""
    long_aliases = Subject("Acme", aliases=tuple(f"Acme Division {i} Holdings" for i in range(9)))
    (batch,) = pack([long_aliases], URL, TEMPLATE, SearchLimits())
    assert count_terms(batch.query) <= 32 and not batch.over_limits
    assert '"Acme"' in batch.query and "Division 8" not in batch.query
    huge = Subject(" ".join(["Very"] * 30))
    batches = pack([Subject("Okta"), huge, Subject("Visa")], URL, TEMPLATE, SearchLimits())
    assert [len(b.subjects) for b in batches] == [1, 1, 1]
    assert [b.over_limits for b in batches] == [False, True, False]


def test_the_entry_expands_into_numbered_batches_that_do_not_expand_again() -> None:
    """One entry, numbered batches that know their place; each builds on its own."""
    template = SourceSpec(
        "google-news", "news-search", URL, options={"terms_per_query": 20}, subjects=tuple(REAL)
    )
    specs = expand(template)
    assert len(specs) > 3
    assert [s.name for s in specs][:2] == ["google-news-001", "google-news-002"]
    assert [s.options["batch"] for s in specs] == list(range(1, len(specs) + 1))
    assert {s.options["batches"] for s in specs} == {len(specs)}
    assert [subject for s in specs for subject in s.subjects] == REAL
    assert all(isinstance(build(s), NewsSearchScraper) for s in specs)
    assert expand(specs[0]) == [specs[0]]


def test_news_search_template_without_companies_fetches_nothing() -> None:
    """With an empty watchlist the template stands alone and never hits the network."""
    spec = SourceSpec("google-news", "news-search", "https://news.google.com/rss/search?q={query}")
    assert expand(spec) == []


def test_news_search_rejects_a_url_without_a_query_placeholder() -> None:
    """A template that could never vary by company is a configuration error."""
    with pytest.raises(ValueError, match=r"\{query\}"):
        build(SourceSpec("g", "news-search", "https://news.google.com/rss/search?q=breach"))


# -- a search host that refuses ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """A fresh pause table on a clock the test moves."""
    fake = Clock()
    monkeypatch.setattr(newssearch, "PAUSES", HostPause(clock=fake))
    yield fake


def batches_on(web: LocalServer, count: int, **options: object) -> list[SourceSpec]:
    template = SourceSpec(
        "google-news",
        "news-search",
        web.url("/rss/search") + "?q={query}",
        options={"terms_per_query": 16, **options},
        allow_private=True,
        subjects=tuple(many(count)),
    )
    return expand(template)


async def collect(spec: SourceSpec, fetcher: Fetcher) -> object:
    async def fetch(url: str, *, conditional: bool = True) -> object:
        return await fetcher.fetch(url, conditional=conditional)

    return await build(spec).collect(fetch)  # type: ignore[arg-type]


async def test_an_unusual_traffic_page_pauses_every_batch_of_the_host(
    web: LocalServer, clock: Clock
) -> None:
    """One refusal and no batch asks again for an hour; each comes back at its own time."""
    web.serve_file("/rss/search", "google-news-moneygram/unusual-traffic.html", "text/html")
    specs = batches_on(web, 40)
    assert len(specs) >= 4
    async with Fetcher(FetchPolicy(allow_private=True, host_spacing=0)) as fetcher:
        with pytest.raises(SearchBlockedError, match="unusual traffic") as first:
            await collect(specs[0], fetcher)
        assert first.value.retry_after == 3600
        clock.now += 600
        with pytest.raises(SearchBlockedError, match="not asking again for 3000s") as later:
            await collect(specs[2], fetcher)
        # Batch 3 of n returns 2/n of a pause after the others' pause ends.
        assert later.value.retry_after == pytest.approx(3000 + 3000 * 2 / len(specs))
        assert len(web.received(path="/rss/search")) == 1
        # Once the pause is over, batches ask again (and get a feed this time).
        web.serve_file("/rss/search", "google-news-batch/search.xml", "application/xml")
        clock.now += 3000
        items = await collect(specs[1], fetcher)
    assert isinstance(items, list) and len(items) == 5
    assert len(web.received(path="/rss/search")) == 2


async def test_a_429_pauses_for_as_long_as_the_host_asks(web: LocalServer, clock: Clock) -> None:
    """Retry-After longer than the pause is honoured; a 404 is an ordinary failure."""
    web.route("/rss/search", Response(429, b"slow down", {"Retry-After": "7200"}))
    specs = batches_on(web, 40, pause="30m")
    policy = FetchPolicy(allow_private=True, host_spacing=0, retries=0)
    async with Fetcher(policy) as fetcher:
        with pytest.raises(SearchBlockedError, match="HTTP 429") as caught:
            await collect(specs[0], fetcher)
        assert caught.value.retry_after == 7200
        with pytest.raises(SearchBlockedError):
            await collect(specs[1], fetcher)
        assert len(web.received(path="/rss/search")) == 1
        clock.now += 7201
        web.route("/rss/search", Response(404, b"gone"))
        with pytest.raises(Exception, match="HTTP 404") as other:
            await collect(specs[1], fetcher)
        assert not isinstance(other.value, SearchBlockedError)
        with pytest.raises(Exception, match="HTTP 404"):
            await collect(specs[2], fetcher)  # a 404 pauses nothing


def test_a_full_feed_is_logged_as_possibly_cut(caplog: pytest.LogCaptureFixture) -> None:
    """A search answers at most 100 items; a batch that gets them all is told about it."""
    body = (FIXTURES / "google-news-batch/search.xml").read_text("utf-8")
    head, _, rest = body.partition("<item>")
    item = "<item>" + rest.split("</item>", 1)[0] + "</item>"
    items = "".join(item.replace("CBMi", f"CBMi{i:03d}") for i in range(100))
    full = head + items + "</channel></rss>"
    spec = expand(SourceSpec("google-news", "news-search", URL, subjects=tuple(REAL)))[0]

    async def fetch(url: str, *, conditional: bool = True) -> object:
        return Page(url, full.encode(), "application/xml")

    found = asyncio.run(build(spec).collect(fetch))  # type: ignore[arg-type]
    assert found is not None and len(found) == 100
    assert "as many as a search answers" in caplog.text
