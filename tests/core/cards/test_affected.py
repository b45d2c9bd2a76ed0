"""How many people, records or accounts: real wording, and the numbers that are not it."""

from __future__ import annotations

import pytest

from bot.core.cards import extract
from tests.core.cards.texts import fixture_records, from_record, line


@pytest.mark.parametrize(
    ("fragment", "count", "kind"),
    [
        ("casio-says-data-of-8-500-people", 8_500, "people"),
        ("att-data-leak-73-million-customers", 73_000_000, "people"),
        ("2310/19/news160", 120_000, "records"),  # 個人情報12万件超
        ("security-next.com/160711", 4_160_000, "people"),  # 416万人分
        ("DGXZQOUC14A360U4A210C2000000", 510_000, "records"),  # 約51万件
        ("moneygram.html", 1_263, "people"),  # "Total number of persons affected: 1,263"
        (
            "hot-topic-data-breach-exposed-54-million",
            56_000_000,
            "people",
        ),  # the larger of 54 and 56
        ("PwnedWebsites#HotTopic", 57_000_000, "accounts"),  # "57M unique email addresses"
        ("23andme-tells-victims", 14_000, "accounts"),
        ("okta-breach-employee-data-rightway", 5_000, "people"),  # "nearly 5,000 employees' data"
        ("co-op-6-5-million-members", 6_500_000, "people"),
        ("DGXZQOUC31CIQ0R31C23A0000000", 9_000_000, "records"),  # 900万件の顧客情報
        ("dell-api-abused-to-steal-49-million", 49_000_000, "records"),
    ],
)
def test_count_stated_with_a_victim_noun_is_read(fragment: str, count: int, kind: str) -> None:
    """A number tied to victims is read as an integer with its kind."""
    affected = line(fragment).affected
    assert affected is not None
    assert (affected.count, affected.kind) == (count, kind)


def test_attackers_figure_is_kept_as_a_claim() -> None:
    """ "ShinyHunters claims ... affecting 560 million" is a count, on the claim's word."""
    affected = line("shinyhunters-claims-ticketmaster").affected
    assert affected is not None
    assert (affected.count, affected.basis) == (560_000_000, "claimed")


def test_approximate_wording_keeps_the_figure_and_says_so() -> None:
    """ "nearly 190 million", "up to six million", "more than 100,000", "12万件超"."""
    cases = {
        "UnitedHealth says Change Healthcare hack affects nearly 190 million people": (
            190_000_000,
            "approx",
        ),
        "Qantas confirms cyber attack exposed personal data of up to six million customers": (
            6_000_000,
            "at_most",
        ),
        "A breach that exposed data of more than 100,000 patients": (100_000, "at_least"),
        "個人情報12万件超が流出": (120_000, "at_least"),
        "約12万件の個人情報が流出した可能性": (120_000, "approx"),
        "1万2千人の個人情報が漏えいした": (12_000, "exact"),
        "In October 2023, 2.15 million customers were affected by the breach": (2_150_000, "exact"),
    }
    for text, (count, qualifier) in cases.items():
        affected = extract(text).affected
        assert affected is not None, text
        assert (affected.count, affected.qualifier) == (count, qualifier), text


@pytest.mark.parametrize(
    "fragment",
    [
        "casio-discloses-data-breach-impacting-customers-in-149-countries",  # countries
        "alphv-change-healthcare-ransom-payment",  # "$22 Million Ransom"
        "unitedhealth-first-quarter-earnings-cyberattack-cost",  # "$872 million"
        "mgm-resorts-ransomware-attack-cost-100-million",  # "$110 million"
        "snowflake-mandiant-unc5537",  # 165 customers = about 165 organizations
        "lockbit-ransomware-leaks-gigabytes-of-boeing",  # 43GB
        "microsoft-april-2024-patch-tuesday",  # 150 flaws, 67 RCEs, 2024
        "coinbase-discloses-breach-faces-up-to-400",  # $400 million, $20 million ransom
        "japan-airlines-delays-flights-after-ddos",  # 20 domestic flights
    ],
)
def test_numbers_that_count_something_else_give_none(fragment: str) -> None:
    """Money, countries, organizations, bytes, flaws and flights are not victims."""
    assert line(fragment).affected is None


@pytest.mark.parametrize(
    "text",
    [
        "日産、9000人削減　4～9月期純利益94%減 | 日産自動車は世界で9000人の人員削減を行うと発表した。",
        "Comcast loses broadband customers | Comcast lost 65,000 broadband subscribers in the first quarter.",
        "Stor-A-File has 90 employees and was founded in 1977; Russian hackers attacked it.",
        "日本のランサムウェア被害件数は、2023年で197件(警察庁調べ)",  # a count of incidents
        "犯行声明によれば、KADOKAWAから盗み出した情報は「1.5テラバイト」分だという。",
        "顧客約1,500社が被害を受けたとされています。身代金は7,000万ドル(約80億円)です。",
        "LockBit claimed it would leak 356,841 files allegedly stolen from Mandiant.",
        "Progress warns of critical MOVEit Transfer flaw (CVE-2024-5806) exploited in attacks",
        "数百万人分の個人情報が流出した恐れ",  # no exact number
        "Ticketmaster confirms data hack which could affect millions",
        "AT&T INC. filed Form 8-K with the SEC on 2024-07-12 reporting Item 1.05, Item 9.01.",
        "Apple warns iPhone users in 92 countries of mercenary spyware attacks",
        "A 17-year-old was arrested over the cyber-attack",
    ],
)
def test_text_without_a_victim_count_gives_none(text: str) -> None:
    """Headcounts, layoffs, incident tallies, sizes, ransoms, CVEs, ages, vague figures."""
    title, _, summary = text.partition(" | ")
    assert extract(title, summary).affected is None


def test_regulator_records_give_their_count() -> None:
    """HHS, Washington AG and HIBP records as the scrapers render them."""
    hhs = [from_record(r).affected for r in fixture_records("hhs-ocr/breach_report.expected.json")]
    assert [a.count for a in hhs if a] == [5_599_699, 100_000_000, 13_400_000]
    wa = [from_record(r).affected for r in fixture_records("wa-ag/sb4j-ca4h.expected.json")]
    assert [a.count if a else None for a in wa] == [7_461, 29_817, 1_220_000, None]
    hibp = [from_record(r).affected for r in fixture_records("hibp/breaches.expected.json")]
    assert [(a.count, a.kind) for a in hibp if a] == [
        (193_000_000, "accounts"),
        (4_019_856, "accounts"),
    ]


def test_regulator_total_wins_over_a_states_residents() -> None:
    """Maine's notice gives the total and the Maine residents: the total is the count."""
    text = ("Total number of persons affected (including residents): 1,204,326 "
            "Total number of Maine residents affected: 2,094")  # fmt: skip
    affected = extract("Data Breach Notifications: MoneyGram Payment Systems, Inc.", text).affected
    assert affected is not None
    assert (affected.count, affected.basis) == (1_204_326, "record")


def test_company_figure_wins_over_the_attackers_claim_in_one_text() -> None:
    """A stated count is preferred to a larger claimed one."""
    found = extract(
        "Retailer says 2,100 customers affected",
        "The company said data of 2,100 customers was stolen; the hackers claim 5 million records.",
    ).affected
    assert found is not None
    assert (found.count, found.basis) == (2_100, "stated")
