"""Data categories from the fixed vocabulary, English and Japanese, and their denials."""

from __future__ import annotations

import pytest

from bot.core.cards import extract
from tests.core.cards.texts import fixture_records, from_record, line


@pytest.mark.parametrize(
    ("fragment", "categories"),
    [
        ("information-during-cyberattack/?guccounter", {"names", "contact", "government_id"}),
        ("transport-for-london-confirms-customer-data-stolen", {"names", "contact", "financial"}),
        ("orange-belgium-data-breach-850000", {"names", "contact"}),  # SIM card numbers are none
        ("coinbase-says-customers-personal-information", {"names", "contact", "government_id"}),
        ("powerschool-data-breach-student-records", {"government_id"}),
        ("aflac-cyberattack-scattered-spider", {"government_id", "health"}),
        ("shinyhunters-selling-santander-data", {"financial"}),
        ("dropbox-says-hackers-stole-customer-data-auth-secrets", {"credentials"}),
        ("okta-breach-employee-data-rightway", {"employee_records"}),
        ("DGXZQOUC112Y30R11C24A0000000", {"employee_records"}),  # 従業員や取引先などの個人情報
        ("xfinity-data-breach-citrixbleed", {"credentials"}),  # usernames and hashed passwords
    ],
)
def test_categories_named_in_the_text_are_read(fragment: str, categories: set[str]) -> None:
    """Each category the text says was exposed, and no other."""
    assert line(fragment).data == categories


@pytest.mark.parametrize(
    "fragment",
    [
        "okta-says-its-support-system-was-breached",  # "using stolen credentials": the way in
        "hacker-hijacks-orange-spain-ripe-account",  # "a password found in ... malware logs"
        "roku-data-breach-impacts-576000",  # credential stuffing is the attack
        "hot-topic-data-breach-notification",  # "used stolen credentials to access"
        "microsoft-executive-emails-hacked",  # stolen emails are not contact details
        "ascension-restores-ehr",  # electronic health records systems, restored
        "aws-cdk-security-best-practices",  # preventing credential leaks: advice
    ],
)
def test_words_that_are_not_exposed_data_give_nothing(fragment: str) -> None:
    """Credentials used to get in, emails' contents, an EHR system, advice."""
    assert line(fragment).data == frozenset()


def test_denied_categories_are_left_out() -> None:
    """Reuters on Orange Belgium: "no passwords, email addresses or bank details"."""
    assert line("orange-belgium-customer-data-hack").data == frozenset()


@pytest.mark.parametrize(
    ("title", "summary", "categories"),
    [
        # risktaisaku.com/articles/-/54775 (NTT Logisco): names and addresses, no payment data.
        (
            "NTTロジスコ、最大800万件の個人情報流出の可能性",
            "配送先の顧客氏名や住所が漏れた恐れがある。クレジットカードや口座といった決済情報は含んでいない。",
            {"names", "contact"},
        ),
        # robinhood.com November 3 incident: SSNs, bank and debit card numbers denied.
        (
            "Robinhood data security incident",
            "We believe that no Social Security numbers, bank account numbers, or debit card numbers were "
            "exposed. For about 310 people, name, date of birth, and zip code were exposed.",
            {"names", "dob", "contact"},
        ),
        (
            "カード情報は含まれておりません",
            "氏名、住所が流出しましたが、クレジットカード情報は含まれていません。",
            {"names", "contact"},
        ),
        ("Breach notice", "Names were stolen but card data was not accessed.", {"names"}),
        # mtg.bigweb.co.jp press release 2020-02: ID, password and email (63,587件).
        (
            "個人情報漏洩に関するお詫びとご報告",
            "ご登録ID・パスワード・メールアドレス(63,587件)の情報の漏洩を確認致しました。",
            {"credentials", "contact"},
        ),
        (
            "Dental insurer breach",
            "Data included full name, address, date of birth, phone number, email, Social Security "
            "number and health insurance details.",
            {"names", "contact", "dob", "government_id", "health"},
        ),
        (
            "病院にランサム攻撃",
            "患者情報や診療情報が流出した可能性がある。マイナンバーは含まれていない。",
            {"health"},
        ),
        (
            "Bank breach",
            "Attackers took customers' fingerprints and passport scans.",
            {"biometric", "government_id"},
        ),
    ],
)
def test_real_wording_with_denials(title: str, summary: str, categories: set[str]) -> None:
    """Japanese 含まれていません and English "no ... were exposed" deny only what they name."""
    assert extract(title, summary).data == categories


def test_hibp_data_classes_field_is_read() -> None:
    """HIBP's DataClasses, passed as a record field, give the categories."""
    found = extract(
        "Ticketmaster data breach added to Have I Been Pwned",
        fields={
            "DataClasses": "Email addresses, Names, Partial credit card data, Phone numbers, Physical addresses"
        },
    )
    assert found.data == {"names", "contact", "financial"}


def test_tracker_descriptions_give_categories() -> None:
    """ransomlook's "4TB of PHI, PII, financial and insurance data"; ransomware.live's employee data."""
    look = [from_record(r).data for r in fixture_records("ransomlook/recent.expected.json")]
    assert look[1] == {"health", "financial"}
    live = [
        from_record(r).data for r in fixture_records("ransomware-live/recentvictims.expected.json")
    ]
    assert live == [{"employee_records"}, {"employee_records"}]
