"""Whether a text reports a security incident, in English and Japanese."""

from __future__ import annotations

import pytest

from bot.core.relevance import assess

INCIDENTS = [
    "Casio confirms data breach after ransomware attack",
    "MoneyGram says 'cybersecurity issue' behind global outage",
    "Ascension takes systems offline to investigate a cybersecurity event",
    "Hackers exploit MOVEit flaw to steal data from hundreds of companies",
    "Live Nation confirms unauthorized access to a third-party cloud database",
    "MoneyGram: no evidence ransomware is behind recent cyberattack",
    "KADOKAWA、ランサムウェアを含むサイバー攻撃を受けたと発表",
    "東京ガスに不正アクセス、416万人分の個人情報流出の可能性",
    "LINEヤフー、情報漏洩が51万件に拡大",
    # A flaw exploited against named victims or their data is an incident.
    "The Clop cyber crime cartel began naming victims compromised via a SQL injection flaw",
    "7-Eleven’s mobile payment app shut down after hackers nab $500K from customers; a "
    "password reset flaw let anyone take over accounts.",
    # Short and everyday forms: ランサム被害, malware, unauthorized activity.
    "無印良品のネットストア停止　委託先アスクルのランサム被害で",
    "Toyota supplier hit by malware, production halted",
    "Bank detects unauthorized activity on customer accounts",
    "Nintendo says 160,000 accounts were accessed in unauthorized logins",
    "Roku detects account takeovers on 15,000 customer accounts",
    "LINEアカウントの乗っ取り被害が相次ぐ",
    "社員のPCがエモテットに感染し、取引先に不審なメール",
    # Plural and accidental forms.
    "Cyber hacks the 'new normal' as Qantas faces ransom",
    "Microsoft AI researchers accidentally exposed terabytes of sensitive data",
    "Microsoft AI researchers inadvertently disclosed 38TB of data.",
    # Japanese as NHK and Nikkei write it, and computer compounds of 不正.
    "関通 顧客企業に大きな被害 ランサムウエア感染でトラブル",
    "HOYAがシステム障害、外的要因による重大なインシデントで出荷に影響も",
    "元派遣社員が顧客情報を不正に持ち出し、名簿業者に渡していた",
    "カード情報が不正に使われた可能性がある",
    # A denial of one thing beside the report of another.
    "Thales denies getting hacked as ransomware gang releases gigabytes of data",
]
NOT_INCIDENTS = [
    "Dell launches AI PCs with built-in ransomware protection",
    "UnitedHealth reports Q1 earnings; risk factors include cyberattacks and data breaches",
    "Progress warns of critical MOVEit vulnerability that could allow attackers to steal data",
    "Microsoft April Patch Tuesday fixes 150 security flaws",
    "Okta warns customers of credential stuffing attacks",
    "AT&T says the outage was not a cyberattack",
    "Companies could face ransomware attacks this holiday season, experts say",
    "カシオ、新製品G-SHOCKを発売",
    "ランサムウェア対策ソリューションを提供開始",
    "ランサム対策の新サービスを発表",
    # 不正 in the compounds of a scandal.
    "東芝の不正会計問題、元社長らに賠償命令",
    "カシオ計算機、電卓アプリの脆弱性を修正",
    # Outages with the attack denied, ruled out or only guessed at.
    "BA cancels flights after IT failure, says it was not a cyber attack – Reuters",
    "British Airways said the problem had not been caused by a cyber attack.",
    "British Airways cancels flights due to IT problem — but denies it was caused by a cyber attack",
    "Optus outage not related to cyber incident, according to telco’s CEO",
    'Optus network outage: CEO says "no indication" of hack',
    "AT&T restores full service after outage in U.S, denies cybersecurity breach",
    'CrowdStrike said it was a defect in an update, "not a security incident or cyberattack".',
    "Jetstar flights delayed after a worldwide IT glitch, initially thought to be a cyberattack",
    "Opinion: How a T-Mobile outage got mistaken for a cyberattack",
    "トヨタ自動車 国内14工場すべて稼働停止「サイバー攻撃を受けた可能性は低い」",
    # Leaks and outflows that are not of data; attacks that are not on computers.
    "New Windows 10 22H2 beta fixes memory leaks and crashes",
    "トヨタ紡織、欧州で最大40億円流出 業績修正を検討",
    "Energy stocks rose as crude climbed on fears of an Iranian attack on Israel",
    # A vendor's advisory about exploited devices names no victim.
    "Cisco discloses new IOS XE zero-day exploited to deploy malware implant\nCisco disclosed "
    "a new high-severity zero-day (CVE-2023-20273), actively exploited to deploy malicious "
    "implants on IOS XE devices compromised using the CVE-2023-20198 zero-day.",
    "US and Japan warn of Chinese hackers backdooring Cisco routers\nA joint advisory sheds "
    "light on the techniques the Chinese threat actors known as BlackTech use.",
    # A breach of a contract or duty, and a breach's lawsuit settled or dropped long after.
    "Casio sues former distributor for breach of contract",
    "Directors accused of breach of fiduciary duty over the merger",
    "Motion for Preliminary Approval of Accellion Data Breach Settlement Filed in California",
    "Blackbaud agrees to $49.5 million settlement for ransomware data breach",
    "SEC Drops Lawsuit Against SolarWinds and CISO Over Sunburst Attack",
    "The U.S. SEC dismissed its lawsuit against SolarWinds and CISO Timothy Brown over "
    "allegedly misleading cybersecurity disclosures related to the 2020 Russian-linked "
    "Sunburst attack, after a judge rejected most claims.",
    "Shares Of Meatpacking Giant JBS Fall In Debut On The NYSE\nShares of Brazilian meat giant "
    "JBS dropped 3.9%; a photo caption recalls the 2021 ransomware demand against its "
    "American subsidiary.",
    # 不正 as wrongdoing: inspection and certification scandals.
    "トヨタなど5社が認証不正、対象車の出荷停止 国交省立ち入り検査へ",
    "「型式指定」巡る不正、トヨタやマツダなど5社で確認",
    "三菱電機の検査不正 空気圧縮機ユニットの一部も 調査委設置へ",
    "三菱電機、杉山社長が引責辞任へ 検査「組織的不正」",
]


@pytest.mark.parametrize("text", INCIDENTS)
def test_incident_reports_are_relevant(text: str) -> None:
    """A company reporting an attack on itself is an incident."""
    assert assess(text).incident


@pytest.mark.parametrize("text", NOT_INCIDENTS)
def test_launches_earnings_and_advisories_are_not(text: str) -> None:
    """Protection products, risk factors, advisories and denials are not incidents."""
    assert not assess(text).incident


def test_structured_sources_are_incidents_by_nature() -> None:
    """An 8-K Item 1.05 or an AG notice needs no incident words."""
    relevance = assess("Form 8-K", by_nature=True)
    assert relevance.incident
    assert relevance.note == "incident by nature of the source"


def test_terms_are_reported() -> None:
    """The words that made the decision come back, for the alert's reason."""
    assert "ransomware" in assess("Casio hit by ransomware").terms


def test_news_about_something_else_that_recalls_an_incident_is_not_one() -> None:
    """A headline about jobs that cites last October's attack is not a disclosure."""
    from bot.core.relevance import recalls_a_past_incident

    summary = (
        "CommonSpirit Health eliminated about 2,000 full-time positions in its fiscal fourth "
        "quarter; it cited labor shortages, inflation and a $160 million hit from last "
        "October's ransomware attack."
    )
    assert recalls_a_past_incident("CommonSpirit cuts 2,000 jobs", summary)
    # The same words under a headline about the attack are a follow-up of the incident.
    assert not recalls_a_past_incident("CommonSpirit says ransomware attack cost $160M", summary)
    # A dated incident is past when its year is before the year of publication.
    dated = (
        "CommonSpirit Health reported a $1.4 billion operating loss for fiscal 2023, including "
        "a $160 million impact from a fall 2022 cybersecurity breach."
    )
    title = "CommonSpirit Health ends fiscal year with $1.4B operating loss, 2,000 job cuts"
    assert recalls_a_past_incident(title, dated, 2023)
    assert not recalls_a_past_incident(title, dated, 2022)
    # Another incident besides the one recalled is still news.
    assert not recalls_a_past_incident(
        "CommonSpirit cuts 2,000 jobs", summary + " Hackers stole patient data again in May."
    )
