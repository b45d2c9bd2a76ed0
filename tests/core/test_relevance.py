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
    "カシオ計算機、電卓アプリの脆弱性を修正",
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
