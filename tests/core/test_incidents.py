"""Grouping disclosures into incidents against a real SQLite store."""

from __future__ import annotations

import pytest

from bot.core import incidents
from bot.core.matching import Match
from bot.core.watchlist import Company
from bot.store import Store
from scrapers.models import Disclosure, Evidence
from tests.support.factories import at, item

CASIO = Company(name="Casio", aliases=("カシオ計算機",))
MONEYGRAM = Company(name="MoneyGram")


async def add(store: Store, disclosure: Disclosure, company: Company = CASIO) -> tuple[int, bool]:
    when = disclosure.published or at("2024-01-01")
    await store.add_disclosures([disclosure], now=when)
    match = Match(company, (company.name,), "test")
    return await incidents.assign(store, disclosure, match, when)


async def test_coverage_of_one_attack_is_one_incident(store: Store) -> None:
    """Outlets reporting the same attack over a week update one incident."""
    first, created = await add(
        store,
        item("Casio says network breach causes outages", "2024-10-08", url="https://a.test/1"),
    )
    assert created
    second, created = await add(
        store,
        item("Casio confirms ransomware attack", "2024-10-11", url="https://b.test/2"),
    )
    assert (second, created) == (first, False)


async def test_same_story_with_tracking_parameters_and_new_guid(store: Store) -> None:
    """An aggregator's copy, with utm parameters and its own GUID, joins the story."""
    first, _ = await add(
        store, item("Casio says breach", "2024-10-08", url="https://a.test/casio", guid="g1")
    )
    copy = item(
        "Casio says breach - BleepingComputer",
        "2025-06-01",  # long after the window: only the link ties it
        url="http://www.a.test/casio/?utm_source=rss&utm_medium=feed",
        guid="aggregator-77",
    )
    assert await add(store, copy) == (first, False)


async def test_a_portal_notice_with_a_new_breach_date_is_a_new_incident(store: Store) -> None:
    """Breach portals reuse one title; the breach date tells a new incident from an old one."""

    def notice(day: str, discovered: str) -> Disclosure:
        return item(
            "Data Breach Notifications: MoneyGram Payment Systems, Inc.",
            day,
            url=f"https://ag.test/{day}",
            summary=f"Date breach discovered: {discovered}.",
            evidence=Evidence.CONFIRMED,
            nature=True,
            source="me-ag",
        )

    first, _ = await add(store, notice("2024-10-07", "09/27/2024"), MONEYGRAM)
    second, created = await add(store, notice("2025-06-02", "05/12/2025"), MONEYGRAM)
    assert created
    assert second != first


async def test_same_headline_through_another_feed_is_a_repeat(store: Store) -> None:
    """The same headline at a syndicated link is the same story: a repeat, not news."""
    first, _ = await add(
        store,
        item("MoneyGram says hackers stole customer data", "2024-09-24", url="https://t.test/1"),
        MONEYGRAM,
    )
    copy = item("MoneyGram says hackers stole customer data", "2024-09-27", url="https://y.test/9")
    await store.add_disclosures([copy], now=at("2024-09-27"))
    match = Match(MONEYGRAM, ("MoneyGram",), "test")
    placed = await incidents.place(store, copy, match, at("2024-09-27"))
    assert placed == incidents.Placement(first, created=False, repeat=True)
    other = item("MoneyGram restores services", "2024-09-28", url="https://y.test/10")
    await store.add_disclosures([other], now=at("2024-09-28"))
    placed = await incidents.place(store, other, match, at("2024-09-28"))
    assert placed == incidents.Placement(first, created=False, repeat=False)


async def test_a_later_different_event_is_a_new_incident(store: Store) -> None:
    """Casio's 2023 ClassPad breach and its 2024 ransomware attack are two incidents."""
    classpad, _ = await add(
        store,
        item("Casio discloses ClassPad data breach", "2023-10-20", url="https://a.test/cp"),
    )
    ransomware, created = await add(
        store,
        item(
            "Casio says network breach causes system outages",
            "2024-10-08",
            url="https://a.test/rw",
            summary="Unauthorized access on October 5 caused system disruption.",
        ),
    )
    assert created
    assert ransomware != classpad


async def test_a_dated_reference_joins_an_incident_after_the_window(store: Store) -> None:
    """'the October ransomware attack' months later updates the October incident."""
    first, _ = await add(
        store, item("Casio hit by ransomware", "2024-10-08", url="https://a.test/1")
    )
    later, created = await add(
        store,
        item(
            "Casio says data of 8,500 people exposed",
            "2025-02-20",
            url="https://a.test/2",
            summary="Casio completed its investigation into the October ransomware attack.",
        ),
    )
    assert (later, created) == (first, False)


async def test_a_late_regulator_notice_without_dates_joins_the_latest(store: Store) -> None:
    """A breach-portal entry months later belongs to the incident it reports."""
    first, _ = await add(
        store, item("Casio hit by ransomware", "2024-10-08", url="https://a.test/1")
    )
    notice = item(
        "Casio: Hacking/IT Incident",
        "2025-04-01",
        url="https://ocr.test/casio",
        evidence=Evidence.CONFIRMED,
        nature=True,
        source="hhs-ocr",
    )
    assert await add(store, notice) == (first, False)


async def test_the_same_intrusion_group_ties_a_late_update(store: Store) -> None:
    """A report naming the same gang months later is about the same attack."""
    first, _ = await add(
        store,
        item("Rhysida claims Casio attack", "2024-01-05", url="https://a.test/1"),
    )
    later, _ = await add(
        store,
        item(
            "Casio publishes lessons learned",
            "2024-06-01",
            url="https://a.test/2",
            summary="The report on the Rhysida intrusion says legacy systems slowed recovery.",
        ),
    )
    assert later == first


async def test_quiet_company_then_undated_news_is_new(store: Store) -> None:
    """News long after the last report, with nothing tying it, opens a new incident."""
    first, _ = await add(
        store, item("Casio hit by ransomware", "2024-01-05", url="https://a.test/1")
    )
    later, created = await add(
        store, item("Casio says hackers stole customer data", "2024-07-01", url="https://a.test/2")
    )
    assert created
    assert later != first


async def test_companies_never_share_an_incident(store: Store) -> None:
    """The same day and words at another company are another incident."""
    casio, _ = await add(store, item("Data breach confirmed", "2024-10-08", url="https://a.test/1"))
    moneygram, created = await add(
        store, item("Data breach confirmed", "2024-10-08", url="https://a.test/2"), MONEYGRAM
    )
    assert created
    assert casio != moneygram


async def test_company_statement_upgrades_claimed_to_confirmed(store: Store) -> None:
    """A leak-site claim, then the company's notice: one incident, now confirmed, its link."""
    claim = item(
        "Casio Computer Co., Ltd.",
        "2024-10-10",
        url="https://leaks.test/casio",
        evidence=Evidence.CLAIMED,
        nature=True,
    )
    incident_id, _ = await add(store, claim)
    notice = item(
        "Notice regarding information leakage due to unauthorized access",
        "2024-10-11",
        url="https://world.casio.test/news/1011",
        evidence=Evidence.CONFIRMED,
    )
    assert await add(store, notice) == (incident_id, False)
    row = await store.get_incident(incident_id)
    assert row is not None
    assert row.evidence is Evidence.CONFIRMED
    assert row.url == "https://world.casio.test/news/1011"
    assert len(await store.incident_sources(incident_id)) == 2


@pytest.mark.parametrize(
    ("text", "when", "months"),
    [
        ("the October ransomware attack", "2025-01-07", {(2024, 10)}),
        ("On April 19, 2024, AT&T learned", "2024-07-12", {(2024, 4)}),
        ("2024年6月8日にサイバー攻撃", "2024-07-01", {(2024, 6)}),
        ("attack in May", "2024-05-20", {(2024, 5)}),
        ("no months here", "2024-05-20", set()),
        ("Data may have been stolen", "2024-08-20", set()),
        ("Date breach discovered: 09/27/2024.", "2024-10-07", {(2024, 9)}),
        ("discovered 2023-10-25", "2023-12-19", {(2023, 10)}),
    ],
)
def test_referenced_months(text: str, when: str, months: set[tuple[int, int]]) -> None:
    """Bare months are the latest such month; explicit years are kept."""
    assert incidents.referenced_months(text, at(when)) == months


def test_similarity_ignores_the_outlet_suffix() -> None:
    """'- BleepingComputer' does not make a headline a different story."""
    a = "Casio says network breach causes system outages"
    assert incidents.similarity(a, f"{a} - BleepingComputer") == 1.0
    assert incidents.similarity(a, "MoneyGram confirms cyberattack") < incidents.SAME_STORY
