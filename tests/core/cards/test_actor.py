"""Who claims or is said to be behind the attack, by canonical name; and who is only named."""

from __future__ import annotations

import pytest

from bot.core.cards import extract
from bot.core.cards.actors import ALIASES, canonical
from tests.core.cards.texts import fixture_records, from_record, line


@pytest.mark.parametrize(
    ("fragment", "actor"),
    [
        (
            "bleepingcomputer.com/news/security/underground-ransomware-claims-attack-on-casio",
            "Underground",
        ),
        ("ransomlook.io/group/underground/casio", "Underground"),  # "the Underground leak site"
        ("change-healthcare-cyberattack-alphv-blackcat", "ALPHV"),  # ALPHV/BlackCat
        ("unitedhealth-says-blackcat-hackers", "ALPHV"),  # "a ransomware group known as Blackcat"
        ("prgs-20230705", "Clop"),  # "exploited by the Cl0p threat actor"
        ("marks-and-spencer-breach-linked-to-scattered-spider", "Scattered Spider"),
        (
            "jaguar-land-rover-jlr-confirms-data-theft",
            "Scattered Lapsus$ Hunters",
        ),  # not Lapsus$ nor Scattered Spider
        ("hunters-international-ransomware-demands", "Hunters International"),
        ("snowflake-mandiant-unc5537", "UNC5537"),  # "the group it tracks as UNC5537"
        ("2510/08/news101", "Qilin"),
        ("boeing-confirms-cyberattack-amid-lockbit", "LockBit"),  # "amid LockBit ransomware claims"
    ],
)
def test_attributed_group_is_the_actor(fragment: str, actor: str) -> None:
    """Claims, "behind", "linked to", "tracks as", leak-site listings, 犯行声明."""
    assert line(fragment).actor == actor


@pytest.mark.parametrize(
    "fragment",
    [
        "qantas-discloses-cyberattack-amid-scattered-spider",  # context, not attribution
        "lockbit-ransomware-disrupted-by-global-police",  # the group as a police target
        "scattered-spider-retail-attacks-analysis",  # an explainer
        "change-healthcare-outage-caused-by-nation-state",  # "nation-state hackers": no group
        "20240628/k10014495761000",  # 「ロシア系とみられるハッカー集団」: unnamed
    ],
)
def test_named_but_not_the_attacker_gives_none(fragment: str) -> None:
    """A group named as a reference point or in a police action is not this attack's actor."""
    assert line(fragment).actor is None


@pytest.mark.parametrize(
    ("text", "actor"),
    [
        ("KADOKAWAへのサイバー攻撃、ハッカー集団「BlackSuit」が犯行声明", "BlackSuit"),
        (
            "アスクルへの攻撃、ハッカー集団「ＲａｎｓｏｍＨｏｕｓｅ」が犯行声明",
            "RansomHouse",
        ),  # full-width letters
        ('A ransomware cybercrime organization known as "Play" claimed responsibility', "Play"),
        ("Hospital hit by attack similar to the LockBit attack on the city", None),
        ("Council says attack is like the Rhysida attack on the British Library", None),
        ("Cl0p ransomware gang lists Shell among MOVEit victims", "Clop"),
        ("LockBit 3.0 affiliates hit the port", "LockBit"),
        ("Company says Octo Tempest gained access through the help desk", "Scattered Spider"),
        ("We went underground to play in the hive", None),  # ordinary words
        ("Security firm warns of Medusa-themed phishing lures; play store apps removed", None),
    ],
)
def test_real_wording_and_ambiguous_names(text: str, actor: str | None) -> None:
    """Quoted Japanese names, aliases, comparisons, and names that are also words."""
    assert extract(text).actor == actor


def test_trackers_group_names_are_canonical() -> None:
    """ransomlook and ransomware.live titles name the group in lower case."""
    look = [from_record(r).actor for r in fixture_records("ransomlook/recent.expected.json")]
    assert look == ["Underground", "RansomHub", "DragonForce"]
    live = [
        from_record(r).actor for r in fixture_records("ransomware-live/recentvictims.expected.json")
    ]
    assert live == ["Underground", "BlackSuit"]


def test_aliases_resolve_to_one_name() -> None:
    """ALPHV = BlackCat, Cl0p = Clop, UNC3944 = Scattered Spider, LockBit 3.0 = LockBit."""
    assert {canonical(a) for a in ("ALPHV", "BlackCat", "alphv/blackcat")} == {"ALPHV"}
    assert canonical("Cl0p") == canonical("CLOP") == "Clop"
    assert canonical("UNC3944") == canonical("octo tempest") == "Scattered Spider"
    assert canonical("LockBit 3.0") == "LockBit"
    assert canonical("not a gang") is None
    assert all(canonical(name) == name for name in ALIASES)


def test_leak_site_group_field_wins() -> None:
    """A tracker record's group field gives the actor even when the text does not."""
    assert (
        extract("Casio Computer Co., Ltd.", fields={"group": "underground"}).actor == "Underground"
    )
