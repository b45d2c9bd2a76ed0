"""Which watched companies a disclosure is about, and why."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.core.matching import Matcher, is_ambiguous_name
from bot.core.watchlist import Company
from bot.settings import parse_watchlist
from scrapers.models import Disclosure, Evidence
from tests.support.factories import news

WATCHLIST = Path(__file__).parents[1] / "fixtures" / "eval" / "watchlist.toml"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    with WATCHLIST.open("rb") as fh:
        return Matcher(parse_watchlist(tomllib.load(fh)).companies)


CASES: list[tuple[str, str, set[str]]] = [
    # Plain names, every script and width.
    ("Casio says network breach causes system outages", "", {"Casio"}),
    ("カシオ計算機、不正アクセスでシステム障害", "", {"Casio"}),
    ("ｶｼｵ計算機にランサムウェア攻撃", "", {"Casio"}),
    ("ＣＡＳＩＯ confirms data breach", "", {"Casio"}),
    ("KADOKAWAへのサイバー攻撃　ハッカー集団が犯行声明", "", {"KADOKAWA"}),
    ("ニコニコ動画がサイバー攻撃でサービス停止", "", {"KADOKAWA"}),
    ("AT and T says hackers stole call records", "", {"AT&T"}),
    ("AT&T’s data breach: what customers should do", "", {"AT&T"}),
    ("M&S says customer data was taken in cyber attack", "", {"Marks & Spencer"}),
    ("Marks and Spencer pauses online orders after cyberattack", "", {"Marks & Spencer"}),
    # Headline forms: "Company: ...", curly apostrophes, dashes, capitals, a Latin name
    # inside Japanese, a name in a hyphenated compound, a national unit.
    (
        "Orange: Orange blames three-hour outage on weak password",
        "Orange said a weak password to its RIPE account was the cause of the Orange Spain "
        "outage after a hacker misconfigured BGP routing and RPKI.",
        {"Orange"},
    ),
    (
        "It’s Telstra’s Turn for a Data Breach: A Third Party Has Exposed Staff Info",
        "",
        {"Telstra"},
    ),
    (
        "Marks & Spencer Reopens Website Six Weeks After DragonForce/Scattered Spider "
        "Cyber-Attack—Retailer Warns of £300 m Profit Hit",
        "",
        {"Marks & Spencer"},
    ),
    ("ORANGE SPAIN INTERNET ACCESS HIT BY CYBER ATTACK", "", {"Orange"}),
    ("不正アクセス、文書2万件超に NECへのサイバー攻撃", "", {"NEC"}),
    ("Orange Spain Faces BGP Traffic Hijack After RIPE Account Hacked by Malware", "", {"Orange"}),
    (
        "AT&T breach affects 'nearly all' customers' call, text records",
        "AT&T disclosed a Snowflake-related breach: customer data on a Snowflake-hosted cloud "
        "workspace was stolen in April.",
        {"AT&T", "Snowflake"},
    ),
    ("Threat actor scraped Dell partner portal for weeks, says hacker", "", {"Dell"}),
    (
        "Capital One target of massive data breach",
        "A data breach affects more than 100 million Capital One credit card customers.",
        {"Capital One"},
    ),
    (
        "M&S hackers believed to be part of Scattered Spider group",
        "British retailer Marks &\nSpencer's systems were infiltrated over Easter.",
        {"Marks & Spencer"},
    ),
    # Related entities: a parent speaking for its subsidiary.
    ("Live Nation confirms data breach in SEC filing", "", {"Ticketmaster"}),
    ("UnitedHealth says Blackcat hackers are behind breach", "", {"Change Healthcare"}),
    # Common-word names need a capitalised use and a cue.
    ("Hot Topic data breach exposed 54 million customers", "", {"Hot Topic"}),
    ("Ransomware remains a Hot Topic for boards", "Directors ask about breaches.", set()),
    ("Why ransomware is a hot topic at RSA", "Hackers stole data again.", set()),
    ("Orange Belgium data breach impacts 850,000 customers", "", {"Orange"}),
    ("Hackers steal data from crypto app", "Users saw orange warning banners.", set()),
    ("Orange County health agency notifies residents of data breach", "", set()),
    ("Cyberattack on major US hospital operator Ascension diverts ambulances", "", {"Ascension"}),
    ("Ascension Island satellite station breached, officials say", "", set()),
    ("Investigation into ransomware attack still in progress", "", set()),
    ("Progress Reports Show Ransomware Payments Decline", "", set()),
    ("Ascension restores health records after ransomware attack", "", {"Ascension"}),
    ("Clop exploited a flaw in Progress MOVEit to steal data", "", {"Progress Software"}),
    ("How hackers could change healthcare", "A breach at a clinic shows why.", set()),
    ("Snowflake customers hit by data theft campaign", "", {"Snowflake"}),
    ("No two snowflakes alike, and no data breach either", "", set()),
    # Exclusions and longer names.
    ("Little Caesars investigates data breach at customer app", "", set()),
    ("Caesars says hackers stole customer data, paid ransom", "", {"Caesars Entertainment"}),
    ("Amazon MGM Studios greenlights hacker thriller", "A ransomware heist movie.", set()),
    ("ALPHV claims MGM attack, encrypting ESXi hosts", "", {"MGM Resorts"}),
    ("Securing AWS CDK apps against credential leaks", "Stop secrets leaking.", set()),
    ("Car dealer software provider CDK hit by second cyberattack", "", {"CDK Global"}),
    ("cdk hit by ransomware, dealers say", "", set()),
    ("mgm hit by ransomware, sources say", "", set()),
    ("Ransomware gang demands $10 million from optics giant Hoya", "", {"HOYA"}),
    ("Target confirms data breach", "", {"Target"}),
    ("Hospitals are a prime target of ransomware gangs", "", set()),
    ("Asahi Shimbun: hackers leak data of nursing care provider", "", set()),
    ("Japan's Asahi halts production after cyberattack", "", {"Asahi Group Holdings"}),
    # An organization that holds things, incidents at it.
    (
        "Captia have a new cyber issue",
        "Colchester city council started an investigation into "
        "an unsecured Amazon S3 bucket controlled by Capita that exposed benefits received by "
        "residents.",
        {"Capita"},
    ),
    (
        "Capita Issued Erroneous Breach Details, Officials Report",
        "Notifications tied to two separate incidents at Capita continue.",
        {"Capita"},
    ),
    # A longer name that holds an ordinary-word name is someone else's.
    (
        "80,000 Australian government employees impacted by ransomware attack on Frontier Software",
        "Personal information of up to 80,000 employees was compromised in a "
        "ransomware attack on payroll software provider Frontier Software.",
        set(),
    ),
    (
        "Frontier Software Cybersecurity Incident",
        "Frontier Software, payroll provider since 2001, was hit by a ransomware attack.",
        set(),
    ),
    (
        "May 2023 MOVEit Data Breach Triggers Class Action Against Delta Dental",
        "A proposed class action claims Delta Dental of California failed to protect members' "
        "data in a May 2023 MOVEit breach.",
        set(),
    ),
    ("Target Hospitality says hackers stole employee data", "", set()),
    ("Toyota Memorial Hospital hit by ransomware, patient records stolen", "", set()),
    ("トヨタ記念病院にランサムウェア攻撃、電子カルテが停止", "", set()),
    ("Toyota says hackers stole data of Toyota Memorial Hospital patients", "", {"Toyota"}),
    ("Apple Hospitality REIT discloses ransomware attack", "", set()),
    ("Delta Air Lines says hackers stole customer data", "", {"Delta Air Lines"}),
    (
        "JLR Cyberattack Takes Toll On Tata Motors With Potential 2-Billion-Pound Loss",
        "JLR will keep factories shut until at least Oct. 1 after a cyberattack.",
        {"Jaguar Land Rover"},
    ),
    (
        "トヨタ紡織で40億円が流出",
        "トヨタ紡織は6日、ベルギーの完全子会社で外部からの虚偽の指示により"
        "約40億円が流出したと発表した。",
        set(),
    ),
    # Not incidents, though they name watched companies.
    ("Casio launches G-SHOCK model with titanium case", "", set()),
    ("Dell unveils AI PCs with built-in ransomware protection", "", set()),
    ("Progress patches critical MOVEit Transfer vulnerability", "CVE-2024-5806.", set()),
    ("AT&T outage was not a cyberattack, company says", "", set()),
    ("UnitedHealth beats estimates; risk factors include cyberattacks", "", set()),
    # Passing mentions beside the subject of a story.
    ("Harrods hit by cyber attack", "It follows attacks on M&S and Co-op.", {"Harrods"}),
    ("Clorox hack tied to Scattered Spider", "Also blamed for the MGM breach.", {"Clorox"}),
    # A Latin name after Japanese letters, as Japanese outlets write foreign companies.
    ("米Microsoftにサイバー攻撃、幹部のメールが盗まれる", "", {"Microsoft"}),
    # An ordinary-word name shown an organization by what it holds.
    (
        "Customer records exposed in unsecured database",
        "Researchers found a database operated by Orange that exposed the personal data of "
        "customers.",
        {"Orange"},
    ),
    # News about something else that only recalls an incident.
    (
        "CommonSpirit cuts 2,000 jobs",
        "CommonSpirit Health eliminated about 2,000 positions; it cited labor shortages and a "
        "$160 million hit from last October's ransomware attack.",
        set(),
    ),
]


@pytest.mark.parametrize(("title", "summary", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_matching_decisions(matcher: Matcher, title: str, summary: str, expected: set[str]) -> None:
    """Each text matches exactly the companies it is a breach disclosure about."""
    found = {m.company.name for m in matcher.match(news(title, summary))}
    assert found == expected


def test_reason_says_why_an_ordinary_word_matched(matcher: Matcher) -> None:
    """The reason names the cue that made 'Orange' a company."""
    [match] = matcher.match(
        news("Orange says hackers stole data", url="https://newsroom.orange.com/x")
    )
    assert "links to newsroom.orange.com" in match.reason
    assert "Orange" in match.matched


def test_domain_in_the_text_vouches_for_an_ordinary_word(matcher: Matcher) -> None:
    """A company domain beside a capitalised common word makes it the company."""
    found = matcher.match(news("Progress confirms breach", "Details at progress.com/trust."))
    assert [m.company.name for m in found] == ["Progress Software"]


def test_organization_field_decides_over_free_text(matcher: Matcher) -> None:
    """A structured organization names the company even when the text does not."""
    filing = Disclosure(
        source="sec-8k",
        title="8-K Item 1.05 Material Cybersecurity Incidents",
        url="https://sec.test/1",
        organization="UNITEDHEALTH GROUP INC",
        evidence=Evidence.CONFIRMED,
        incident_by_nature=True,
    )
    [match] = matcher.match(filing)
    assert match.company.name == "Change Healthcare"
    assert "related to Change Healthcare" in match.reason
    assert "incident by nature" in match.reason


def test_unwatched_organization_matches_nothing_whatever_the_text_says(matcher: Matcher) -> None:
    """A notice filed by an unwatched entity is not about a company its text mentions."""
    notice = Disclosure(
        source="me-ag",
        title="Data Breach Notification",
        url="https://ag.test/1",
        summary="Vendor used by Casio customers.",
        organization="Little Caesars Enterprises",
        incident_by_nature=True,
    )
    assert matcher.match(notice) == []


def test_an_exclusion_that_folds_to_a_name_does_not_hide_it() -> None:
    """'MGM+' as an exclusion must not swallow every 'MGM'."""
    company = Company(name="MGM Resorts", aliases=("MGM",), exclude=("MGM+",))
    assert Matcher([company]).match(news("MGM hit by ransomware attack"))


def test_rebuilt_matcher_sees_new_companies(matcher: Matcher) -> None:
    """with_companies returns a matcher for the changed set; the old one is unchanged."""
    text = news("Zorvantix confirms data breach")
    assert matcher.match(text) == []
    bigger = matcher.with_companies([*matcher.companies, Company(name="Zorvantix")])
    assert [m.company.name for m in bigger.match(text)] == ["Zorvantix"]
    assert matcher.match(text) == []


def test_empty_watchlist_matches_nothing() -> None:
    """No companies, no matches."""
    assert Matcher([]).match(news("Casio confirms data breach")) == []


@pytest.mark.parametrize(
    ("name", "ambiguous"),
    [
        ("Orange", True),
        ("Hot Topic", True),
        ("Change Healthcare", True),
        ("Casio", False),
        ("Progress Software", False),
        ("アサヒ", False),
        ("MoneyGram", False),
    ],
)
def test_names_made_of_ordinary_words_are_ambiguous(name: str, ambiguous: bool) -> None:
    """Only names made entirely of common words need extra proof."""
    assert is_ambiguous_name(name) is ambiguous


def test_ambiguous_flag_in_the_watchlist_forces_proof() -> None:
    """'ambiguous = true' makes even an unusual name need a cue."""
    plain = Matcher([Company(name="Zorvantix")])
    careful = Matcher([Company(name="Zorvantix", ambiguous=True)])
    text = news("Report on Zorvantix and ransomware")
    assert plain.match(text)
    assert careful.match(text) == []
    assert careful.match(news("Zorvantix confirms ransomware attack"))


def test_watchlist_accepts_the_ambiguous_flag() -> None:
    """'ambiguous' is a known key of a company and must be a boolean."""
    from bot.settings import ConfigError

    watchlist = parse_watchlist({"companies": [{"name": "Zorvantix", "ambiguous": True}]})
    assert watchlist.companies[0].ambiguous
    with pytest.raises(ConfigError):
        parse_watchlist({"companies": [{"name": "Zorvantix", "ambiguous": "maybe"}]})


def test_a_notice_on_the_company_site_needs_no_name(matcher: Matcher) -> None:
    """A newsroom notice that never names the company is still about it."""
    notice = news(
        "Notice regarding information leakage due to unauthorized access",
        "Personal information may have been leaked after unauthorized access to our servers.",
        url="https://world.casio.com/news/2024/1011-incident/",
    )
    [match] = matcher.match(notice)
    assert match.company.name == "Casio"
    assert "published on world.casio.com" in match.reason
    launch = news("New G-SHOCK model", url="https://world.casio.com/news/2024/0912-gshock/")
    assert matcher.match(launch) == []


def test_an_ambiguous_japanese_name_matches_with_a_cue() -> None:
    """Japanese names are found inside words even when they need proof."""
    careful = Matcher(
        [Company(name="アサヒ", domains=("asahigroup-holdings.com",), ambiguous=True)]
    )
    text = news(
        "アサヒにサイバー攻撃、出荷停止", url="https://www.asahigroup-holdings.com/newsroom/1"
    )
    [match] = careful.match(text)
    assert "asahigroup-holdings.com" in match.reason


@pytest.mark.parametrize(
    "text",
    [
        "AT&T’s data breach: AT & T, at and t, atandt",
        "British retailer Marks &\nSpencer said; M&S’s website, m & s",
        "不正アクセス、文書2万件超に NECへのサイバー攻撃 (nec攻撃, xnec, necs)",
        "Casio’s casios xcasio CASIO'S Co-op's co op coop",
    ],
)
def test_names_are_found_without_a_pattern_as_with_one(matcher: Matcher, text: str) -> None:
    """The quick scanner for Latin names finds exactly what the per-name pattern finds."""
    from bot.core.matching import _latin_spans, _latin_words, _surface

    lowered = text.lower()
    names = [n for c in matcher.companies for n in c.names if _latin_words(n)]
    assert len(names) > 100
    found = 0
    for name in names:
        expected = [(m.start(), m.end()) for m in _surface(name).finditer(lowered)]
        assert _latin_spans(lowered, _latin_words(name)) == expected, name
        found += len(expected)
    assert found


# Formal notices on a company's own site, and their follow-ups, often never name it.
NOTICES = [
    ("Notice of Data Security Incident", "We recently learned that an unauthorized party "
     "accessed our network.", "https://world.casio.com/news/2024/notice/"),
    ("Notice Regarding Unauthorized Access to Our Server", "",
     "https://www.casio.com/jp/information/1018-incident/"),
    ("不正アクセスによる個人情報漏えいに関するお知らせ（第2報）", "",
     "https://www.casio.com/jp/information/1018-incident-2/"),
    ("不正アクセスによる個人情報漏えいのお詫びとご報告",
     "ICT教育アプリ「ClassPad.net」の開発環境のデータベースへの外部からのサイバー攻撃により、"
     "一部の顧客の個人情報が外部に漏えいしました。",
     "https://www.casio.com/jp/information/1018-incident/"),
    ("Investigation results of the unauthorized access", "Personal data of 8,478 people was "
     "leaked.", "https://world.casio.com/news/2025/0108-results/"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "url"), NOTICES, ids=[n[0][:40] for n in NOTICES])
def test_a_notice_on_its_own_site_speaks_for_the_company(
    matcher: Matcher, title: str, summary: str, url: str
) -> None:
    """A notice or a follow-up in the company's own voice is the company's disclosure."""
    assert [m.company.name for m in matcher.match(news(title, summary, url=url))] == ["Casio"]


@pytest.mark.parametrize(
    ("title", "summary", "url"),
    [
        ("London hospitals declare critical incident after ransomware attack on Synnovis",
         "Operations were cancelled after an attack on pathology services provider Synnovis.",
         "https://www.bbc.com/news/articles/synnovis-cyber-attack"),
        ("名古屋港でシステム障害、ランサムウェア攻撃か　コンテナ搬出入停止",
         "名古屋港のコンテナターミナルでシステム障害が発生し、ランサムウェアによる攻撃を受けた可能性がある。",
         "https://www.nikkei.com/article/DGXZQOUC05A5G0V00C23A7000000/"),
    ],
)  # fmt: skip
def test_an_outlets_report_on_others_is_not_about_the_outlet(
    matcher: Matcher, title: str, summary: str, url: str
) -> None:
    """A watched news outlet's own site reports other victims: not a notice of its own."""
    assert matcher.match(news(title, summary, url=url)) == []
