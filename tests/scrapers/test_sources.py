"""Source-specific rules that the recorded pages alone do not pin down."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers.base import Page, SourceSpec, Subject
from scrapers.newssearch import query_for, slug
from scrapers.registry import build
from scrapers.sec import EdgarSearchScraper, filing_url
from scrapers.tdnet import list_page_url
from scrapers.trackers import is_masked


@pytest.mark.parametrize(
    "name", ["Micros***", "****soft", "Hot T***", "Ca**o", "AT&T ••••", "Casi*", "*asio"]
)
def test_masked_leak_site_names_are_recognised(name: str) -> None:
    """Names a leak site has partly hidden are treated as masked."""
    assert is_masked(name)


@pytest.mark.parametrize(
    "name", ["Casio Computer Co., Ltd.", "AT&T", "M&S", "changehealthcare.com"]
)
def test_ordinary_names_are_not_masked(name: str) -> None:
    """Real names, ampersands and domains included, are not mistaken for masked ones."""
    assert not is_masked(name)


def test_masked_victims_never_become_records() -> None:
    """A masked victim is dropped, so no organization like 'Micros***' reaches matching."""
    body = (
        b'[{"victim": "Micros***", "group": "lockbit3", "discovered": "2024-10-09 21:15:02"},'
        b' {"victim": "Dell***", "group": "play", "discovered": "2024-10-09 21:15:02"},'
        b' {"victim": "Hot Topic", "group": "ransomhub", "discovered": "2024-10-22 10:00:00"}]'
    )
    spec = SourceSpec("ransomware-live", "ransomware-live", "https://api.ransomware.live/v2/")
    items = build(spec).parse(Page(spec.url, body, "application/json"))
    assert [i.organization for i in items] == ["Hot Topic"]


def test_custom_query_template_is_used() -> None:
    """An operator's own query wording is kept, with the company's name put in."""
    q = query_for(Subject("Casio"), '"{name}" 不正アクセス')
    assert q == '"Casio" 不正アクセス'
    assert slug("Marks & Spencer") == "marks-spencer"


def test_sec_search_limits_the_query_to_recent_days() -> None:
    """The full-text search asks for the configured number of days up to today."""
    spec = SourceSpec(
        "sec-8k",
        "sec-search",
        "https://efts.sec.gov/LATEST/search-index?q=%22Item%201.05%22&forms=8-K",
        options={"days": 7},
    )
    scraper = build(spec)
    assert isinstance(scraper, EdgarSearchScraper)
    query = parse_qs(urlsplit(scraper.search_url(datetime(2024, 7, 12, tzinfo=UTC))).query)
    assert query["q"] == ['"Item 1.05"']
    assert query["forms"] == ["8-K"]
    assert (query["startdt"], query["enddt"]) == (["2024-07-05"], ["2024-07-12"])


def test_sec_search_item_filter_is_configurable() -> None:
    """Keeping only Item 1.05 drops the Item 8.01 hits of a cyber phrase search."""
    from tests.support.fixturecases import cases

    case = next(c for c in cases() if c.id == "sec-edgar-search/cyber-8k")
    spec = replace(case.spec(), options={"items": ["1.05"]})
    items = build(spec).parse(case.page())
    assert items and all(i.incident_by_nature for i in items)
    assert {i.extra["cik"] for i in items} == {"731766", "1335258", "732717"}


def test_filing_and_list_addresses() -> None:
    """Archive and TDnet addresses are built the way those sites lay them out."""
    assert (
        filing_url("0000732717", "0000732717-24-000046", "t-20240706.htm")
        == "https://www.sec.gov/Archives/edgar/data/732717/000073271724000046/t-20240706.htm"
    )
    day = datetime(2024, 10, 11, tzinfo=UTC)
    assert (
        list_page_url("https://www.release.tdnet.info/inbs/", day, 2)
        == "https://www.release.tdnet.info/inbs/I_list_002_20241011.html"
    )
