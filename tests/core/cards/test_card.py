"""The card merge over real incidents from the matching set, and the diff for in-place edits."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.core.cards import Affected, Extraction, Sighting, diff, extract, merge
from bot.core.cards.dates import PartialDate
from tests.core.cards.texts import dev_files


def _incident(group: str) -> list[Sighting]:
    """The eval lines of one incident as sightings: evidence from the flags, source the outlet."""
    out = []
    for path in dev_files():
        for raw in path.read_text(encoding="utf-8").splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            _, groups, published, source, url, flags, title, summary = raw.split(" | ", 7)
            if group not in groups.split(";"):
                continue
            evidence = next(
                (f.split("=")[1] for f in flags.split(",") if f.startswith("evidence=")), "reported"
            )
            at = datetime.fromisoformat(published).replace(tzinfo=UTC)
            out.append(Sighting(extract(title, summary, published=at), evidence, at, source, url))
    assert out, group
    return out


def test_confirmed_count_wins_over_a_larger_reported_one() -> None:
    """Change Healthcare: HHS's confirmed 100,000,000 over the press's "over 190 million"."""
    card = merge(_incident("change-2024"))
    assert card.affected is not None
    assert (card.affected.value.count, card.affected.evidence, card.affected.source) == (
        100_000_000,
        "confirmed",
        "hhs-ocr",
    )


def test_reported_count_wins_over_a_claim_and_the_largest_among_reports() -> None:
    """Hot Topic: the largest report (57 million, CPO Magazine) over the hacker's claimed 350M."""
    card = merge(_incident("hottopic-2024"))
    assert card.affected is not None
    assert (card.affected.value.count, card.affected.evidence) == (57_000_000, "reported")


def test_data_categories_accumulate() -> None:
    """MoneyGram: names, contact and SSNs from TechCrunch, transaction data from BleepingComputer."""
    card = merge(_incident("moneygram-2024"))
    assert card.categories == {"names", "contact", "government_id"}


def test_actor_by_evidence_then_frequency() -> None:
    """Change Healthcare: ALPHV (reported by several) over RansomHub's later leak-site claim."""
    sightings = _incident("change-2024")
    claim = Sighting(
        Extraction(actor="RansomHub"), "claimed", datetime(2024, 4, 15, tzinfo=UTC), "ransomlook"
    )
    card = merge([*sightings, claim])
    assert card.actor is not None and (card.actor.value, card.actor.evidence) == (
        "ALPHV",
        "reported",
    )
    assert card.attack_kind == "ransomware"


def test_attack_by_evidence_then_frequency() -> None:
    """A company's "phishing" outranks two reports of ransomware; among equals, the most."""
    at = datetime(2024, 10, 8, tzinfo=UTC)
    reports = [
        Sighting(Extraction(attack="ransomware"), "reported", at, f"outlet{i}") for i in range(2)
    ]
    company = Sighting(Extraction(attack="phishing"), "confirmed", at, "Casio")
    assert merge([*reports, company]).attack_kind == "phishing"
    other = Sighting(Extraction(attack="phishing"), "reported", at, "outlet9")
    assert merge([*reports, other]).attack_kind == "ransomware"


def test_plain_access_yields_to_a_specific_kind() -> None:
    """A confirmed "unauthorized access" does not hide reported ransomware; alone, it stands."""
    at = datetime(2024, 10, 8, tzinfo=UTC)
    company = Sighting(Extraction(attack="unauthorized_access"), "confirmed", at, "Casio")
    report = Sighting(Extraction(attack="ransomware"), "reported", at, "outlet")
    assert merge([company, report]).attack_kind == "ransomware"
    assert merge([company]).attack_kind == "unauthorized_access"
    assert merge([Sighting(Extraction(), "reported", at, "outlet")]).attack_kind == "unknown"


def test_timeline_keeps_first_claim_report_and_confirmation() -> None:
    """Casio 2024: reported 10-08 (BleepingComputer), claimed and confirmed 10-11."""
    card = merge(_incident("casio-2024"))
    stages = {s.stage: (s.at.date().isoformat(), s.source) for s in card.timeline}
    assert stages == {
        "reported": ("2024-10-08", "bleepingcomputer"),
        "claimed": ("2024-10-11", "ransomlook"),
        "confirmed": ("2024-10-11", "casio-news"),
    }
    assert [s.stage for s in card.timeline] == ["reported", "claimed", "confirmed"]
    assert card.actor is not None and card.actor.value == "Underground"
    assert card.began is not None and str(card.began.value) == "2024-10-05"


def test_merge_ignores_input_order() -> None:
    """The same disclosures in any order give the same card."""
    sightings = _incident("change-2024")
    shuffled = sightings[:]
    random.Random(7).shuffle(shuffled)
    assert merge(shuffled) == merge(sightings)


def test_a_weaker_sources_day_refines_a_stronger_month() -> None:
    """ "October" from the company and "October 5" from the press give October 5."""
    at = datetime(2024, 10, 10, tzinfo=UTC)
    card = merge([
        Sighting(Extraction(began=PartialDate(2024, 10)), "confirmed", at, "Casio"),
        Sighting(Extraction(began=PartialDate(2024, 10, 5)), "reported", at, "BleepingComputer"),
        Sighting(Extraction(began=PartialDate(2024, 9, 1)), "claimed", at, "leak site"),
    ])  # fmt: skip
    assert card.began is not None and str(card.began.value) == "2024-10-05"


def test_diff_says_what_a_confirmation_changed() -> None:
    """The edit's first line: "confirmed by Casio: 8,500 people"."""
    before = _incident("casio-2024")[:-1]  # without the January 2025 count
    count = Affected(8_500, "people", "exact", "stated", "8,500 people")
    notice = Sighting(Extraction(affected=count, attack="ransomware"), "confirmed",
                      datetime(2025, 1, 7, tzinfo=UTC), "Casio")  # fmt: skip
    changes = diff(merge(before), merge([*before, notice]))
    assert [c.text for c in changes] == ["confirmed by Casio: 8,500 people"]


def test_diff_lists_new_fields_and_nothing_when_nothing_changed() -> None:
    """A first card lists each field; the same card again gives no change."""
    card = merge(_incident("moneygram-2024"))
    texts = [c.text for c in diff(None, card)]
    assert texts[0] == "confirmed by me-ag: 1,263 people"
    assert "reported by techcrunch: names, contact details, government IDs" in texts
    assert diff(card, card) == ()
    claim = Sighting(
        Extraction(actor="Underground"), "claimed", datetime(2024, 10, 11, tzinfo=UTC), "ransomlook"
    )
    assert [c.text for c in diff(merge([]), merge([claim]))] == [
        "claimed by Underground (ransomlook)"
    ]


def test_a_count_the_attackers_claim_ranks_as_a_claim() -> None:
    """A reported article's "hackers claim 560 million" does not beat a reported count."""
    at = datetime(2024, 6, 1, tzinfo=UTC)
    claimed = Sighting(
        extract("ShinyHunters claims Ticketmaster data breach affecting 560 million"),
        "reported",
        at,
        "bc",
    )
    stated = Sighting(
        Extraction(affected=Affected(40_000, "people", "exact", "stated", "")), "reported", at, "tc"
    )
    card = merge([claimed, stated])
    assert card.affected is not None and card.affected.value.count == 40_000


def test_unknown_evidence_is_refused() -> None:
    """A sighting's evidence must be one of the three levels."""
    with pytest.raises(ValueError, match="evidence"):
        Sighting(Extraction(), "rumoured", datetime(2024, 1, 1, tzinfo=UTC), "x")
