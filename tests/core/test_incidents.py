"""Grouping disclosures into incidents against a real SQLite store."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import incidents
from bot.core.matching import Match
from bot.core.watchlist import Company
from bot.service.evaluation import load
from bot.store import Store
from scrapers.models import Disclosure, Evidence
from tests.support.factories import at, item

CASIO = Company(name="Casio", aliases=("カシオ計算機",))
MONEYGRAM = Company(name="MoneyGram")
ATT = Company(name="AT&T")
SAMSUNG = Company(name="Samsung")


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
    """'the October ransomware attack' three months later updates the October incident."""
    first, _ = await add(
        store,
        item(
            "Casio says network breach causes system outages",
            "2024-10-08",
            url="https://a.test/1",
            summary="Casio detected unauthorized access to its network on October 5.",
        ),
    )
    later, created = await add(
        store,
        item(
            "Casio says data of 8,500 people exposed in October ransomware attack",
            "2025-01-07",
            url="https://a.test/2",
            summary="Casio completed its investigation into the October ransomware attack.",
        ),
    )
    assert (later, created) == (first, False)


async def test_a_month_that_only_happens_to_match_joins_nothing(store: Store) -> None:
    """AT&T's July 2024 Snowflake disclosure says the data was stolen in April, when its
    March dark-web leak was in the news; the two share nothing else: two incidents."""
    leak, _ = await add(
        store,
        item(
            "AT&T confirms leaked data of 73 million customers came from its systems",
            "2024-04-02",
            url="https://a.test/leak",
            summary="The data posted on a cybercrime forum appears to be from its systems.",
        ),
        ATT,
    )
    snowflake, created = await add(
        store,
        item(
            "AT&T breach affects 'nearly all' customers' call, text records",
            "2024-07-12",
            url="https://a.test/snowflake",
            summary="Customer data on a Snowflake-hosted cloud workspace was stolen in April.",
        ),
        ATT,
    )
    assert created and snowflake != leak


async def test_a_date_of_another_event_is_not_read(store: Store) -> None:
    """'the second such breach this year after the LAPSUS$ leak in March' names March for
    the comparison: Samsung's September breach stays apart from its March one."""
    march, _ = await add(
        store,
        item(
            "Lapsus$ group leaks 190GB of Samsung data, source code",
            "2022-03-07",
            url="https://a.test/lapsus",
            summary="The Lapsus$ data extortion gang published about 190GB of Samsung files.",
        ),
        SAMSUNG,
    )
    september, created = await add(
        store,
        item(
            "Samsung Admits Data Breach that Exposed Details of Some U.S. Customers",
            "2022-09-03",
            url="https://a.test/us",
            summary="A cybersecurity incident in late July 2022 let hackers access names and"
            " dates of birth, the second such breach this year after the LAPSUS$ leak in March.",
        ),
        SAMSUNG,
    )
    assert created and september != march


@pytest.mark.parametrize("look_back_first", [False, True])
async def test_a_year_later_look_back_with_the_date_joins_its_incident(
    store: Store, look_back_first: bool
) -> None:
    """A 2026 explainer of Casio's ransomware attack, dated to the day, is no new incident,
    whichever of the two was stored first."""
    report = item(
        "カシオ計算機、不正アクセスでシステム障害　一部サービスに影響",
        "2024-10-08",
        url="https://a.test/1",
        summary="カシオ計算機は10月8日、同社ネットワークへの不正アクセスによりシステム障害が発生したと発表した。",
    )
    look_back = item(
        "CASIOのランサムウェア被害とは?情報漏えい・公表内容・影響範囲を整理",
        "2026-03-18",
        url="https://a.test/2",
        summary="CASIOは2024年10月5日に海外から不正アクセスを受け、システム障害が発生した。",
    )
    first, second = (look_back, report) if look_back_first else (report, look_back)
    opened, _ = await add(store, first)
    assert await add(store, second) == (opened, False)


async def test_a_cost_report_months_later_joins_the_latest_incident(store: Store) -> None:
    """Clorox's February report of what the attack cost belongs to its August attack."""
    first, _ = await add(
        store,
        item("Clorox says cyberattack disrupted operations", "2023-08-14", url="https://a.test/1"),
    )
    await add(
        store,
        item(
            "Clorox warns of product shortages after cyberattack",
            "2023-09-18",
            url="https://a.test/2",
        ),
    )
    cost, created = await add(
        store,
        item(
            "Clorox says cyberattack caused $49 million in expenses.",
            "2024-02-02",
            url="https://a.test/3",
            summary="The attack has so far cost $49 million in response expenses.",
        ),
    )
    assert (cost, created) == (first, False)
    fresh, created = await add(
        store,
        item(
            "Clorox restores systems after new ransomware attack",
            "2024-03-20",
            url="https://a.test/4",
        ),
    )
    assert created and fresh != first


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


async def test_a_late_notice_moves_to_the_report_published_just_before_it(store: Store) -> None:
    """A breach-portal entry belongs to the latest report before it, even when that report
    arrives after it: it leaves the older incident for the newer one."""

    def notice() -> Disclosure:
        return item(
            "MoneyGram Payment Systems: Hacking/IT Incident",
            "2024-11-20",
            url="https://ocr.test/moneygram",
            evidence=Evidence.CONFIRMED,
            nature=True,
            source="hhs-ocr",
        )

    january = item("MoneyGram hit by cyberattack", "2024-01-10", url="https://a.test/jan")
    september = item(
        "MoneyGram says hackers stole customer data", "2024-09-24", url="https://a.test/sep"
    )
    old, _ = await add(store, january, MONEYGRAM)
    assert await add(store, notice(), MONEYGRAM) == (old, False)
    newer, created = await add(store, september, MONEYGRAM)
    assert created and newer != old
    sources = await store.incident_sources(newer)
    assert sorted(s["url"] for s in sources) == ["https://a.test/sep", "https://ocr.test/moneygram"]
    assert [s["url"] for s in await store.incident_sources(old)] == ["https://a.test/jan"]


async def test_a_report_between_two_incidents_makes_them_one(store: Store) -> None:
    """October and December reports are two incidents until a November report, in the news
    cycle of both, arrives: the older incident takes the newer in, its window widened."""
    october, _ = await add(
        store, item("Casio hit by cyberattack", "2024-10-01", url="https://a.test/1")
    )
    december, created = await add(
        store,
        item(
            "Casio says ransomware gang leaked employee data", "2024-12-15", url="https://a.test/3"
        ),
    )
    assert created and december != october
    november = item("Casio confirms customer data was stolen", "2024-11-10", url="https://a.test/2")
    await store.add_disclosures([november], now=at("2024-11-10"))
    placed = await incidents.place(
        store, november, Match(CASIO, ("Casio",), "test"), at("2024-12-20")
    )
    assert placed == incidents.Placement(
        min(october, december), created=False, merged=(max(october, december),)
    )
    assert await store.get_incident(max(october, december)) is None
    row = await store.get_incident(placed.incident_id)
    assert row is not None
    assert (row.started_at, row.ended_at) == (at("2024-10-01"), at("2024-12-15"))
    assert row.title == "Casio hit by cyberattack"
    assert len(await store.incident_sources(placed.incident_id)) == 3


def test_a_broken_feed_date_counts_as_when_it_was_seen() -> None:
    """A publication date days after the item was first seen is not trusted."""
    seen = at("2024-10-08")
    assert incidents.event_time(at("2024-10-07"), seen) == at("2024-10-07")
    assert incidents.event_time(at("2099-01-01"), seen) == seen
    assert incidents.event_time(None, seen) == seen


# -- the same incidents whatever the order ------------------------------------------------

_WATCHLIST, _SET = load()
# Casio's two incidents (a leak-site entry, company notices, a look back two years on) and
# Change Healthcare's (an 8-K, an HHS notice, follow-ups over a year), as labeled.
_POOL = [
    (i, company)
    for i in _SET
    for company in ("Casio", "Change Healthcare")
    if company in i.companies
]


@given(order=st.permutations(range(len(_POOL))), backfilled=st.sets(st.integers(0, 80)))
@settings(max_examples=12)
def test_any_arrival_order_gives_the_incidents_of_the_whole_set(
    tmp_path_factory: pytest.TempPathFactory, order: list[int], backfilled: set[int]
) -> None:
    """Real lines delivered in any order, some one by one as published and the rest in one
    late scan, end in the incidents the rules give the whole set, stored or not."""
    companies = {
        c.name: c for c in _WATCHLIST.companies if c.name in ("Casio", "Change Healthcare")
    }
    scan = at("2026-06-01")

    async def run() -> set[frozenset[str]]:
        folder = tmp_path_factory.mktemp("order")
        store = await Store.open(f"sqlite+aiosqlite:///{folder}/t.db")
        try:
            for n in order:
                labeled, company = _POOL[n]
                disclosure = labeled.disclosure
                when = scan if n in backfilled else disclosure.published or scan
                await store.add_disclosures([disclosure], now=when)
                match = Match(companies[company], (company,), "test")
                await incidents.place(store, disclosure, match, when)
            where = await store.incidents.incident_of_matches(
                (i.disclosure.identity, companies[c].key) for i, c in _POOL
            )
        finally:
            await store.close()
        groups: dict[int, set[str]] = {}
        for (identity, _), incident in where.items():
            groups.setdefault(incident, set()).add(identity)
        return {frozenset(g) for g in groups.values()}

    expected: set[frozenset[str]] = set()
    for company, entry in companies.items():
        stories = [
            incidents.Story.of(i.disclosure, i.disclosure.published or scan)
            for i, c in _POOL
            if c == company
        ]
        names = incidents.names_of(entry.name, entry.aliases)
        expected |= {frozenset(s.key for s in part) for part in incidents.partition(stories, names)}
    assert asyncio.run(run()) == expected
    # ... which never join two labeled incidents (one late Change Healthcare report, with
    # nothing but the company's name in common with the rest, stands apart).
    labels = {i.disclosure.identity: i.groups[i.companies.index(c)] for i, c in _POOL}
    named = [{labels[k] for k in part} for part in expected]
    assert all(len(n) == 1 for n in named)
    assert sorted(n.pop() for n in named) == [
        "casio-2023",
        "casio-2024",
        "change-2024",
        "change-2024",
    ]


# -- what stays right, on real lines of the labeled set -----------------------------------


def _labeled(company: str, urls: list[str]) -> list[Disclosure]:
    """The labeled set's lines about ``company`` with these links, in that order."""
    by_url = {i.disclosure.url: i.disclosure for i in _SET if company in i.companies}
    return [by_url[url] for url in urls]


async def _scan(
    store: Store, company: Company, found: list[Disclosure], when: str
) -> dict[str, int]:
    """Place ``found`` as one scan at ``when``, in the order given; each one's incident."""
    moment = at(when)
    await store.add_disclosures(found, now=moment)
    match = Match(company, (company.name,), "test")
    opened = [(await incidents.place(store, d, match, moment)).created for d in found]
    where = await store.incidents.incident_of_matches([(d.identity, company.key) for d in found])
    # Each incident was opened once, by one of its items: none was opened and then merged.
    assert sum(opened) == len(set(where.values()))
    return {identity: incident for (identity, _), incident in where.items()}


@pytest.mark.parametrize("newest_first", [True, False])
async def test_one_story_from_five_outlets_is_one_incident(
    store: Store, newest_first: bool
) -> None:
    """Casio's October 2024 attack from BleepingComputer, The Record, ITmedia, Security
    NEXT and a Google News copy, in one scan: one incident; its 2023 breach apart."""
    casio = next(c for c in _WATCHLIST.companies if c.name == "Casio")
    five = _labeled(
        "Casio",
        [
            "https://www.bleepingcomputer.com/news/security/casio-says-network-breach-causes-system-outages/",
            "https://therecord.media/casio-cyberattack-system-disruption",
            "https://www.itmedia.co.jp/news/articles/2410/08/news118.html",
            "https://www.security-next.com/164312",
            "https://www.bleepingcomputer.com/news/security/casio-says-network-breach-causes-system-outages/?utm_source=rss&utm_medium=rss",
        ],
    )
    assert len({d.source for d in five}) == 5
    [classpad] = _labeled("Casio", ["https://www.itmedia.co.jp/news/articles/2310/19/news160.html"])
    found = [*five, classpad]
    found.sort(key=lambda d: d.published or at("2020-01-01"), reverse=newest_first)
    where = await _scan(store, casio, found, "2024-10-10")
    assert len({where[d.identity] for d in five}) == 1
    assert where[classpad.identity] != where[five[0].identity]


@pytest.mark.parametrize("notice_first", [True, False])
async def test_a_regulator_notice_months_later_joins_its_incident(
    store: Store, notice_first: bool
) -> None:
    """Ascension's HHS breach-portal entry of December 2024 names no date; it joins the
    May ransomware coverage seven months before it, read first or last in one scan."""
    ascension = next(c for c in _WATCHLIST.companies if c.name == "Ascension")
    reports = _labeled(
        "Ascension",
        [
            "https://www.bleepingcomputer.com/news/security/ascension-healthcare-takes-systems-offline-after-cyberattack/",
            "https://www.cnn.com/2024/05/10/tech/ascension-hospital-cyberattack-ambulances/index.html",
            "https://therecord.media/ascension-black-basta-ransomware",
            "https://therecord.media/ascension-restores-ehr-after-ransomware",
        ],
    )
    [notice] = _labeled(
        "Ascension",
        ["https://ocrportal.hhs.gov/ocr/breach/breach_report.jsf?entity=Ascension+Health"],
    )
    assert notice.incident_by_nature
    assert not incidents.referenced_months(f"{notice.title} {notice.summary}", at("2024-12-19"))
    found = [notice, *reports] if notice_first else [*reports, notice]
    assert len(set((await _scan(store, ascension, found, "2024-12-21")).values())) == 1
