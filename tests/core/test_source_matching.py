"""Records from every recorded source reach the right watched company through matching."""

from __future__ import annotations

from bot.core.matching import Matcher
from bot.settings import load_config
from scrapers.registry import build
from tests.support.fixturecases import cases


def matches() -> set[tuple[str, str]]:
    """(fixture case, company) for every record of every case under the bundled watchlist."""
    matcher = Matcher(load_config().watchlist.companies)
    found: set[tuple[str, str]] = set()
    for case in cases():
        if case.error is None:
            for item in build(case.spec()).parse(case.page()):
                found |= {(case.id, m.company.name) for m in matcher.match(item)}
    return found


def test_structured_sources_reach_the_companies_they_name() -> None:
    """Regulators, trackers, TDnet and press pages each lead to the company concerned."""
    expected = {
        ("ca-ag/list-export", "MoneyGram"),
        ("ca-ag/list-export", "AT&T"),
        ("wa-ag/sb4j-ca4h", "Ticketmaster"),
        ("maine-ag/list", "23andMe"),
        ("hhs-ocr/breach_report", "Change Healthcare"),
        ("sec-edgar-search/cyber-8k", "AT&T"),
        ("sec-edgar-filings/CIK0000732717", "AT&T"),
        ("ransomware-live/recentvictims", "Casio"),
        ("ransomware-live/recentvictims", "KADOKAWA"),
        ("ransomlook/recent", "Marks & Spencer"),
        ("hibp/breaches", "Ticketmaster"),
        ("tdnet/I_list_001_20241011", "Casio"),
        ("casio-jp-releases/release", "Casio"),
        ("casio-world-news/news", "Casio"),
        ("moneygram-newsroom/newsroom", "MoneyGram"),
        ("google-news-moneygram/search", "MoneyGram"),
        ("google-news-batch/search", "Casio"),
        ("google-news-batch/search", "MoneyGram"),
        ("bleepingcomputer/feed", "Casio"),
        ("itmedia-security/news_security", "KADOKAWA"),
        ("itmedia-security/news_security", "Casio"),
    }
    assert expected - matches() == set()


def test_a_product_launch_on_a_press_page_is_not_an_alert() -> None:
    """Casio's G-SHOCK release shares the page with its incident notices but never matches."""
    matcher = Matcher(load_config().watchlist.companies)
    case = next(c for c in cases() if c.id == "casio-jp-releases/release")
    launches = [d for d in build(case.spec()).parse(case.page()) if "G-SHOCK" in d.title]
    assert launches and all(matcher.match(d) == [] for d in launches)


def test_a_batched_search_is_attributed_item_by_item() -> None:
    """One search about five names: each result goes to the company it is about, alone."""
    matcher = Matcher(load_config().watchlist.companies)
    case = next(c for c in cases() if c.id == "google-news-batch/search")
    found = {
        item.title.rsplit(" - ", 1)[0]: [m.company.name for m in matcher.match(item)]
        for item in build(case.spec()).parse(case.page())
    }
    assert found == {
        "Casio confirms cyberattack caused system disruption": ["Casio"],
        "MoneyGram: No evidence ransomware is behind recent cyberattack": ["MoneyGram"],
        "Casio says network breach causes system outages": ["Casio"],
        "カシオ計算機、不正アクセスでシステム障害 一部サービスに影響": ["Casio"],
        "Casio Hit by Cyberattack Causing System Disruption": ["Casio"],
    }
