"""Attack kinds: what the text names, the most specific first, and what it denies."""

from __future__ import annotations

import pytest

from bot.core.cards import extract
from tests.core.cards.texts import fixture_records, from_record, line


@pytest.mark.parametrize(
    ("fragment", "attack"),
    [
        ("casio-says-data-of-8-500-people", "ransomware"),
        ("2410/08/news118", "unauthorized_access"),  # 不正アクセス
        ("23andme-user-data-stolen-in-credential-stuffing", "credential_stuffing"),
        ("23andme-tells-victims", "credential_stuffing"),  # "reusing passwords"
        ("japan-airlines-delays-flights-after-ddos", "ddos"),
        ("2412/26/news101", "ddos"),  # JALにDDoS攻撃か
        ("d538506d8k", "phishing"),  # social engineering of an IT vendor
        ("casio-says-classpad-data-breach", "misconfiguration"),  # settings disabled
        ("harrods-warns-customers-of-data-breach-at-third-party", "third_party"),
        ("2311/27/news166", "third_party"),  # 委託先
        ("coinbase-discloses-breach", "insider"),  # bribed support agents
        ("DGXZQOUC31CIQ0R31C23A0000000", "insider"),  # 元派遣社員が不正に持ち出し
        ("mgm-resorts-alphv-scattered-spider-attack", "ransomware"),  # ransomware beats the way in
        (
            "nissan-oceania-data-breach-akira",
            "unauthorized_access",
        ),  # "may have let hackers access"
    ],
)
def test_named_kind_is_read(fragment: str, attack: str) -> None:
    """The kind the text names; ransomware over the way in, a vendor over plain access."""
    assert line(fragment).attack == attack


@pytest.mark.parametrize(
    "fragment",
    [
        "moneygram-confirms-a-cyberattack-is-behind",  # "a cyberattack"
        "moneygram-says-hackers-stole-customers-personal-info-transaction",  # "no evidence ransomware"
        "change-healthcare-outage-caused-by-nation-state",  # "nation-state hackers" is who, not how
    ],
)
def test_unnamed_or_denied_kind_is_unknown(fragment: str) -> None:
    """A cyberattack of no stated kind, or one whose ransomware is denied, is unknown."""
    assert line(fragment).attack == "unknown"


def test_a_third_party_attacker_is_not_a_vendor_breach() -> None:
    """Casio: "unauthorized access by a third party to its servers" is plain access."""
    assert line("world.casio.com/news/2024/1011-incident").attack == "unauthorized_access"


def test_warnings_about_phishing_after_a_breach_are_not_the_attack() -> None:
    """Advice to beware of phishing emails does not make the breach a phishing attack."""
    found = extract("Retailer confirms hackers stole customer data",
                    "Customers should be wary of phishing emails that use the stolen data.")  # fmt: skip
    assert found.attack == "unauthorized_access"


def test_registers_and_trackers_causes() -> None:
    """Washington AG causes and HHS breach types as the scrapers render them."""
    wa = [from_record(r).attack for r in fixture_records("wa-ag/sb4j-ca4h.expected.json")]
    assert wa == ["unauthorized_access", "unauthorized_access", "ransomware", "unknown"]
    hhs = [from_record(r).attack for r in fixture_records("hhs-ocr/breach_report.expected.json")]
    assert hhs == ["unauthorized_access"] * 3


def test_a_date_field_named_breached_is_not_an_intrusion() -> None:
    """HIBP's "breached 2024-05-20" dates the breach; it says nothing about how."""
    assert from_record(fixture_records("hibp/breaches.expected.json")[0]).attack == "unknown"


@pytest.mark.parametrize(
    ("text", "attack"),
    [
        ("アスクル、ランサムウェア感染でシステム障害", "ransomware"),
        ("サーバーが暗号化され、業務が停止した", "ransomware"),
        ("暗号化されたパスワードが流出した", "unknown"),  # encrypted passwords, not ransomware
        ("Hackers want millions in ransom to end the outage", "ransomware"),
        (
            "Coinbase refuses $20 million ransom after data theft",
            "unauthorized_access",
        ),  # a ransom is not ransomware
        ("Google Driveの共有設定の不備により、ファイルが閲覧可能な状態だった", "misconfiguration"),
        ("Accounts were hit by password spraying", "credential_stuffing"),
    ],
)
def test_more_real_wording(text: str, attack: str) -> None:
    """Japanese forms, ransom without ransomware, misconfigured sharing."""
    assert extract(text).attack == attack
