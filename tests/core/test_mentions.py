"""Stories that name several watched companies alert only those the story is about.

The wording is that of real coverage in the labeled set (tests/fixtures/eval/), matched
against its watchlist.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.core.matching import Matcher
from bot.core.mentions import passing
from bot.settings import parse_watchlist
from tests.support.factories import news

WATCHLIST = Path(__file__).parents[1] / "fixtures" / "eval" / "watchlist.toml"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    with WATCHLIST.open("rb") as fh:
        return Matcher(parse_watchlist(tomllib.load(fh)).companies)


# A watched company named through its parent or owner, or in apposition.
OWNERS: list[tuple[str, str, set[str]]] = [
    (
        "GitHub issues final report on supply-chain source code intrusions",
        "Users of Microsoft's GitHub platform suffered unauthorised access to private source "
        "code via OAuth tokens of the Heroku and Travis-CI integrations.",
        {"GitHub"},
    ),
    (
        "Optum Services Disrupted by Cyberattack on Change Healthcare",
        "Optum, a subsidiary of UnitedHealth Group, confirmed that a cyberattack on Change "
        "Healthcare, which it acquired in 2022, disrupted services including pharmacy claims.",
        {"Change Healthcare"},
    ),
    (
        "Woolworths Group Subsidiary 'MyDeal' Leaks Personal Data of 2.2 Million",
        "Unauthorized access on the 14th to the customer management system of MyDeal, 80% "
        "owned by Woolworths Group, exposed names of 2.2 million customers; Optus exposed 9.8 "
        "million last month.",
        {"Woolworths"},
    ),
    (
        "Cyberattack halts Tata-owned JLR's production at UK plants",
        "Jaguar Land Rover, a subsidiary of Tata Motors, suffered a cyberattack that "
        '"severely disrupted" manufacturing and retail at its Halewood and Solihull plants.',
        {"Jaguar Land Rover"},
    ),
    (
        "Taiwan’s Foxsemicon falls victim to LockBit ransomware attack",
        "Taiwanese semiconductor maker Foxsemicon Integrated Technology, a subsidiary of Hon "
        "Hai Precision Industry, better known as Foxconn, was hijacked by LockBit.",
        set(),
    ),
    (
        "KADOKAWAとドワンゴ、サイバー攻撃による情報漏洩の詳細を発表",
        "KADOKAWAグループと傘下のドワンゴは3日、6月8日のランサムウェアによる大規模サイバー攻撃で、"
        "ドワンゴ全従業員の個人情報が外部に漏洩した可能性が高いと公表した。",
        {"KADOKAWA"},
    ),
]

# One article, several watched companies: only those attacked.
SEVERAL: list[tuple[str, str, set[str]]] = [
    # Earlier victims of the same gang, as a reference point.
    (
        "UK luxury department store hit by cyber attack",
        "London luxury department store Harrods confirmed it is battling a cyber attack after "
        '"attempts to gain unauthorised access to some of our systems", following incidents at '
        "Marks & Spencer and the Co-op.",
        {"Harrods"},
    ),
    (
        "Clorox Expects Q1 Loss Following Attack by Caesars, MGM Hackers",
        "Clorox shares fell nearly 9% after a cyberattack believed to be the work of Scattered "
        "Spider, the group that hit Caesars and MGM.",
        {"Clorox"},
    ),
    (
        "JD Sports says 10 million customers hit by cyber attack",
        "JD Sports said names and addresses of 10 million customers may have been accessed. "
        "Royal Mail was hit by ransomware earlier this month.",
        {"JD Sports"},
    ),
    (
        "Revealed: Inside HWL Ebsworth’s negotiations with the BlackCat hackers",
        "It was the first Australian restraining order against cyber hackers, unlike in the "
        "2022 Medibank and Optus hacks.",
        set(),
    ),
    (
        "NECにサイバー攻撃 潜水艦の機密情報など防衛省関係のファイルに不正アクセス",
        "NECは31日、同社サーバーの一部がサイバー攻撃を受けたと発表した。同様に防衛装備を手がける"
        "三菱電機でも大規模なサイバー攻撃を受けていたことが1月20日に分かったばかり。",
        {"NEC"},
    ),
    # The outlet the attackers told, the company that was not hit, a product, an acquirer.
    (
        "Co-op admits major data breach after hackers leak proof to BBC",
        "DragonForce claimed it stole personal information of as many as 20 million people "
        "from the Co-op Group; the BBC saw 10,000 customer records.",
        {"Co-op"},
    ),
    (
        "【続報】カプコン、サイバー攻撃で最大35万件の個人情報流出か!?",
        "カプコンが攻撃を受け、最大35万件の個人情報が流出した可能性があると日本経済新聞が報じた。",
        {"Capcom"},
    ),
    (
        "European airports face major disruptions after cyberattack on Collins Aerospace software",
        "A cyberattack on Collins Aerospace’s MUSE system forced manual check-in at Heathrow; "
        "British Airways operated normally using a backup system.",
        set(),
    ),
    (
        "Major European airports face unprecedented delays after cyberattack on critical "
        "service provider",
        "London Heathrow, Brussels and Berlin faced delays after a suspected cyberattack on "
        "Collins Aerospace's MUSE software; EasyJet, Delta and United Airlines activated "
        "contingency plans.",
        set(),
    ),
    (
        "Chinese Hackers Breach US Telecoms, Access Wiretap Systems",
        "Chinese group Salt Typhoon infiltrated Verizon, AT&T and Lumen Technologies networks, "
        "reaching systems used for court-authorized wiretapping; Cisco said it found no sign "
        "its routers were compromised, and Microsoft is analyzing the attack.",
        {"Verizon", "AT&T"},
    ),
    (
        "JAXA、2023年10月に発生したサイバー攻撃について説明。「未知のマルウェアが複数使用され、"
        "Microsoft 365に不正アクセス」",
        "",
        {"JAXA"},
    ),
    (
        "Lululemon Stock to Join S&P 500",
        "Lululemon rose 10.31%, replacing Activision Blizzard after its Microsoft acquisition; "
        "Henry Schein shares dipped 2.11% after a cybersecurity incident over the weekend.",
        {"Henry Schein"},
    ),
    # One of a list of the gang's victims, in a story about another.
    (
        "Qantas says 'legal protections in place' as cyber hacking group threatens to release "
        "personal data",
        "Scattered Lapsus$ Hunters reportedly threatens to release stolen data from dozens of "
        "firms linked to Salesforce, including Disney, Google, IKEA, Toyota, Qantas, Air France "
        "and KLM, unless a ransom is paid.",
        {"Qantas"},
    ),
    # A brand used as a lure or a tool, a company reporting attacks on others.
    (
        "Cybercriminals pose as LastPass staff to hack password vaults",
        "LastPass is warning of a malicious campaign targeting its users with the "
        "CryptoChameleon phishing kit that is associated with cryptocurrency theft.",
        set(),
    ),
    (
        "Hackers abuse Microsoft Teams to push malware in ransomware attacks",
        "Ransomware affiliates are sending Teams messages impersonating IT help desks to breach "
        "corporate networks.",
        set(),
    ),
    (
        "Iranian hackers breach defense orgs in password spray attacks",
        "Microsoft says an Iranian-backed threat group has targeted thousands of organizations "
        "in the U.S. and worldwide in password spray attacks since February 2023.",
        set(),
    ),
    (
        "Microsoft: Chinese hackers breached US govt Exchange email accounts",
        "A Chinese hacking group has breached the email accounts of more than two dozen "
        "organizations worldwide, including U.S. and Western European government agencies, "
        "according to Microsoft.",
        {"Microsoft"},
    ),
    ("Report: Microsoft among most impersonated brands in phishing attacks", "", set()),
    ("Microsoft researchers uncover new ransomware strain targeting hospitals", "", set()),
    ("Microsoft AI researchers inadvertently disclosed 38TB of data.", "", {"Microsoft"}),
    # A wave covered as one story: each company's own attack is told.
    (
        "Harrods joins M&S and Co-op in recent wave of cyberattacks on UK retailers",
        "Harrods restricted internet access after attempts to gain unauthorised access; at M&S "
        "a ransomware attack has suspended online orders for over a week; the Co-op shut down "
        "parts of its IT after attempted breaches.",
        {"Harrods", "Marks & Spencer", "Co-op"},
    ),
    (
        "UK police arrest four following cyberattacks on M&S, Co-op, Harrods",
        "The NCA arrested four people suspected of taking part in the attacks.",
        {"Marks & Spencer", "Co-op", "Harrods"},
    ),
    # A platform's breach and its customers: each is alerted.
    (
        "The Ticketmaster Data Breach May Be Just the Beginning",
        "Hackers who breached Snowflake customer accounts claim to have stolen data from "
        "Santander, Ticketmaster and others.",
        {"Snowflake", "Ticketmaster", "Santander"},
    ),
    (
        "Personal info of about 129k Singtel customers leaked in data breach",
        "NRIC details of about 129,000 Singtel customers leaked via the Accellion FTA system.",
        {"Singtel", "Accellion"},
    ),
    (
        "Japan’s Muji hit by ransomware attack on delivery partner",
        "Muji said on Oct 20 that it stopped its domestic online shopping service after a "
        "ransomware infection at Askul, its online shopping delivery partner.",
        {"Ryohin Keikaku", "Askul"},
    ),
    (
        "Clop begins naming alleged MOVEit victims",
        "The Clop cyber crime cartel began naming victims compromised via a SQL injection flaw "
        "in Progress Software’s MOVEit product; fuel giant Shell, the University of Georgia "
        "and Putnam are among the first 12 names, and Shell confirmed it was affected.",
        {"Progress Software", "Shell"},
    ),
    (
        "Massive AT&T Breach Linked To Snowflake Attacks: Report",
        "An AT&T spokesperson tied the theft of call and text records to the wave of attacks "
        "on Snowflake customers; other victims include Ticketmaster, Neiman Marcus Group, "
        "Santander Bank and Pure Storage.",
        {"AT&T", "Snowflake", "Ticketmaster", "Neiman Marcus", "Santander"},
    ),
]


@pytest.mark.parametrize(("title", "summary", "expected"), OWNERS, ids=[c[0][:40] for c in OWNERS])
def test_an_owner_is_not_the_victim(
    matcher: Matcher, title: str, summary: str, expected: set[str]
) -> None:
    """A parent named to say who owns the victim is not alerted; its listed units are."""
    assert {m.company.name for m in matcher.match(news(title, summary))} == expected


@pytest.mark.parametrize(
    ("title", "summary", "expected"), SEVERAL, ids=[c[0][:40] for c in SEVERAL]
)
def test_only_the_companies_attacked_are_alerted(
    matcher: Matcher, title: str, summary: str, expected: set[str]
) -> None:
    """Passing mentions are dropped; a platform and the customers it exposed all stay."""
    assert {m.company.name for m in matcher.match(news(title, summary))} == expected


def test_a_company_alone_in_a_comparison_is_not_the_story() -> None:
    """With no other watched company, a mention that is only a reference point is dropped."""
    text = "Attack on a logistics firm\nIt follows the attack on Casio last week."
    assert passing({0: [(text.index("Casio"), text.index("Casio") + 5)]}, text, 26) == {0}
    lead = "Casio hit by ransomware\nCasio said data was stolen."
    assert passing({0: [(0, 5), (24, 29)]}, lead, 23) == set()


# One case per role a mention can play, each the only cue that decides it.
ROLES: list[tuple[str, str, str, set[str]]] = [
    (
        "a victim told only by the data stolen from it",
        "Ticketmaster confirms data breach after hackers list 560 million customers",
        "ShinyHunters also claims to have stolen data from Santander, the Spanish bank.",
        {"Ticketmaster", "Santander"},
    ),
    (
        "a victim told only by its own statement",
        "Clop begins naming alleged MOVEit victims",
        "The gang listed names compromised through Progress Software’s MOVEit product, and "
        "Shell confirmed it was affected.",
        {"Progress Software", "Shell"},
    ),
    (
        "a victim told only as among the first names listed",
        "Clop begins naming alleged MOVEit victims",
        "The gang listed names compromised through Progress Software’s MOVEit product; fuel "
        "giant Shell is among the first 12 names.",
        {"Progress Software", "Shell"},
    ),
    (
        "one company after 'including' is not a list of others",
        "Snowflake customers hit in data theft campaign",
        "The hackers stole data from Snowflake customers, including Ticketmaster.",
        {"Snowflake", "Ticketmaster"},
    ),
    (
        "the summary's lead is a subject even without incident words of its own",
        "Australian telco hit by data breach affecting 9.8 million",
        "Optus said names, birth dates and phone numbers of customers were exposed; Telstra "
        "was not affected.",
        {"Optus"},
    ),
    (
        "a company's word on its own systems is not a platform cue",
        "Australian telco hit by data breach affecting 9.8 million",
        "Optus said names, birth dates and phone numbers of customers were exposed; Telstra "
        "said its systems were not affected.",
        {"Optus"},
    ),
    (
        "a name ending in s, in the possessive, before its incident",
        "30,000 Telstra employees exposed in data breach",
        "Data of 30,000 current and former Telstra employees was exposed in a third-party "
        "breach that the telco believes was timed to capitalise on Optus’ hack.",
        {"Telstra"},
    ),
    (
        "'the' company's incident as a reference point",
        "Caesars says hackers stole customer data",
        "Caesars Entertainment paid a ransom, according to reports; the MGM hack shut down "
        "slot machines for days.",
        {"Caesars Entertainment"},
    ),
    (
        "a company after 'after' beside the subject",
        "Caesars says hackers stole customer data",
        "Caesars Entertainment said hackers stole data, weeks after MGM Resorts was hacked by "
        "the same gang.",
        {"Caesars Entertainment"},
    ),
    (
        "customers of another company 'also' informed",
        "Accellion Data Breach Ensnares Energy Giant Shell",
        "Shell disclosed that attackers gained access to personal data in its Accellion File "
        "Transfer Appliance; Flagstar Bank customers were also informed their data was exposed "
        "via the FTA breach, and Clop is extorting victims.",
        {"Shell", "Accellion"},
    ),
    (
        "a maker's repository as the place of someone else's breach",
        "Okta's source code stolen after GitHub repositories hacked",
        "",
        {"Okta"},
    ),
    (
        "a team of a company reporting what it saw",
        "Microsoft Threat Intelligence says Storm-0501 hit hybrid cloud environments with "
        "ransomware",
        "",
        set(),
    ),
    (
        "a brand used as the theme of a lure",
        "Hackers send Microsoft-themed emails to steal credentials",
        "",
        set(),
    ),
    (
        "the owner of an unwatched victim, 'owned by'",
        "Foxsemicon hit by LockBit ransomware",
        "The Taiwanese chipmaker, owned by Foxconn, had its websites defaced by attackers.",
        set(),
    ),
    (
        "the owner of an unwatched victim, '-owned'",
        "Foxconn-owned chipmaker Foxsemicon hit by LockBit ransomware",
        "",
        set(),
    ),
    (
        "the outlet credited at the end of a Japanese story",
        "カシオにサイバー攻撃、システム障害が発生",
        "カシオ計算機は、ランサムウェア攻撃を受けて個人情報が流出したと発表した（日経）",
        {"Casio"},
    ),
    (
        "a Japanese company said to be unaffected",
        "アスクルにランサムウェア攻撃、受注を停止",
        "アスクルは19日、ランサムウェア感染によるシステム障害が発生したと発表した。"
        "セブン&アイ・ホールディングスは、サイバー攻撃による自社への影響はないとしている。",
        {"Askul"},
    ),
    (
        "a Japanese vendor named as such",
        "良品計画、ネットストアを停止",
        "良品計画は20日、ネットストアを停止した。配送委託先のアスクルでもランサムウェア感染が"
        "確認された。",
        {"Ryohin Keikaku", "Askul"},
    ),
    (
        "a Japanese comparison with 同様",
        "NECにサイバー攻撃、防衛関連ファイルに不正アクセス",
        "NECは31日、サーバーの一部がサイバー攻撃を受けたと発表した。同様に三菱電機が攻撃を受けて"
        "いたことが1月に分かった。",
        {"NEC"},
    ),
]


@pytest.mark.parametrize(("role", "title", "summary", "expected"), ROLES, ids=[c[0] for c in ROLES])
def test_each_role_decides_alone(
    matcher: Matcher, role: str, title: str, summary: str, expected: set[str]
) -> None:
    """Each role of a mention, as the only cue in the story, decides whether it is alerted."""
    assert {m.company.name for m in matcher.match(news(title, summary))} == expected, role
