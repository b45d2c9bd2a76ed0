"""When it began and when it was discovered; announcement dates are neither."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.cards import extract
from tests.core.cards.texts import fixture_records, from_record, line


@pytest.mark.parametrize(
    ("fragment", "began", "discovered"),
    [
        (
            "https://www.bleepingcomputer.com/news/security/casio-says-network-breach-causes-system-outages/",
            "2024-10-05",
            None,
        ),  # "access ... on October 5"
        (
            "casio-cyberattack-system-disruption",
            None,
            "2024-10-05",
        ),  # "discovered ... on October 5"
        (
            "bleepingcomputer.com/news/security/underground-ransomware-claims-attack-on-casio",
            "2024-10-05",
            None,
        ),  # "an October 5 attack"
        ("casio-says-data-of-8-500-people", "2024-10", None),  # "October" read in January 2025
        ("moneygram.html", None, "2024-09-27"),  # "Date breach discovered: 09/27/2024"
        ("unh-20240221", None, "2024-02-21"),  # "On February 21, 2024, ... identified"
        (
            "powerschool-data-breach-student-records",
            None,
            "2024-12-28",
        ),  # December, read in January
        ("halliburton-august-cyberattack-cost", "2024-08", None),
        ("20241226/k10014679541000", "2024-12-26", None),  # 26日朝、...攻撃を受けて
    ],
)
def test_dates_by_the_words_that_govern_them(
    fragment: str, began: str | None, discovered: str | None
) -> None:
    """The verb or noun beside a date says which it is."""
    found = line(fragment)
    assert (
        str(found.began) if found.began else None,
        str(found.discovered) if found.discovered else None,
    ) == (
        began,
        discovered,
    )


@pytest.mark.parametrize(
    "fragment",
    [
        "2410/08/news118",  # カシオ計算機は10月8日、...と発表した: the day it announced
        "microsoft-april-2024-patch-tuesday",  # "April 2024 Patch Tuesday"
        "japan-airlines-delays-flights-after-ddos",  # "this morning"
        "jlr-production-shutdown-extended",  # "until at least 24 September"
    ],
)
def test_announcement_and_other_dates_are_neither(fragment: str) -> None:
    """Announcements, product events and deadlines give no incident dates."""
    found = line(fragment)
    assert (found.began, found.discovered) == (None, None)


def test_register_records_give_breach_dates_not_filing_dates() -> None:
    """California's "date(s) of breach" (earliest), HIBP's breach date, Washington's start."""
    ca = [from_record(r).began for r in fixture_records("ca-ag/list-export.expected.json")]
    assert [str(d) if d else None for d in ca] == [
        "2024-09-20", "2024-02-17", "2024-04-02", "2023-05-01", None, "2025-04-22",
    ]  # fmt: skip
    hhs = [from_record(r) for r in fixture_records("hhs-ocr/breach_report.expected.json")]
    assert all(
        h.began is None and h.discovered is None for h in hhs
    )  # "Reported to HHS OCR on ..."
    hibp = from_record(fixture_records("hibp/breaches.expected.json")[1])
    assert str(hibp.began) == "2023-10-01"  # to the day, over "In October 2023"


@pytest.mark.parametrize(
    ("text", "published", "began", "discovered"),
    [
        (
            "Hackers breached the network between May 1 and May 9, 2024.",
            date(2024, 6, 1),
            "2024-05-01",
            None,
        ),
        (
            "当社は2024年10月5日に不正アクセスを確認しました。",
            date(2024, 10, 11),
            None,
            "2024-10-05",
        ),
        (
            "2024年9月20日、当社サーバーがランサムウェアに感染しました",
            date(2024, 10, 1),
            "2024-09-20",
            None,
        ),
        (
            "Ingo Money discovered that an unauthorized third-party accessed information in November 2023.",
            date(2024, 6, 28),
            "2023-11",
            None,
        ),
        (
            "The company became aware of the incident on Oct. 19 and notified residents on July 10.",
            date(2024, 7, 20),
            None,
            "2023-10-19",
        ),
        (
            "Hackers may breach more systems, officials warned in March.",
            date(2024, 4, 1),
            None,
            None,
        ),
    ],
)
def test_more_real_wording(
    text: str, published: date, began: str | None, discovered: str | None
) -> None:
    """Ranges, Japanese notices, a month with its year, a year left out, "may" the verb."""
    found = extract(text, published=published)
    assert (
        str(found.began) if found.began else None,
        str(found.discovered) if found.discovered else None,
    ) == (
        began,
        discovered,
    )


def test_dates_after_publication_are_refused() -> None:
    """A date later than the item itself cannot be when the attack began."""
    assert (
        extract("Systems were breached on December 30, 2025", published=date(2025, 1, 2)).began
        is None
    )
