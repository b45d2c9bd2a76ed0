"""Filters on cards, the cards' JSON form, and how alerts show them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.cards import (
    CardFilter,
    Extraction,
    Sighting,
    card_of,
    card_to_dict,
    extract,
    extraction_from_dict,
    extraction_to_dict,
    merge,
    parse_count,
    parse_data,
)
from bot.core.cards.numbers import Affected
from bot.core.embeds import (
    TOTAL_MAX,
    alert_embed,
    card_embed,
    channel_message,
    embed_length,
    sample_alert,
)

AT = datetime(2024, 10, 10, 12, tzinfo=UTC)


def _card(count: int | None = None, data: frozenset[str] = frozenset()) -> dict[str, object]:
    affected = Affected(count, "people", "exact", "stated", "") if count else None
    return card_to_dict(merge([Sighting(Extraction(affected, data), "reported", AT, "the-record")]))


@pytest.mark.parametrize(
    ("wanted", "count", "data", "passes"),
    [
        (CardFilter(5_000), 8_500, frozenset(), True),
        (CardFilter(5_000), 4_999, frozenset(), False),
        (CardFilter(5_000), None, frozenset(), False),  # not known yet: held back
        (CardFilter(5_000, unknown_affected="alert"), None, frozenset(), True),
        (CardFilter(5_000, unknown_affected="alert"), 10, frozenset(), False),
        (CardFilter(data=frozenset({"health"})), None, frozenset({"health", "names"}), True),
        (CardFilter(data=frozenset({"health"})), 9_000_000, frozenset({"names"}), False),
        (
            CardFilter(1_000, frozenset({"government_id"})),
            2_000,
            frozenset({"government_id"}),
            True,
        ),
        (CardFilter(1_000, frozenset({"government_id"})), 2_000, frozenset(), False),
        (CardFilter(), None, frozenset(), True),
    ],
)
def test_a_filter_passes_what_it_asks_for(
    wanted: CardFilter, count: int | None, data: frozenset[str], passes: bool
) -> None:
    """At least N affected, an unknown count held unless asked otherwise, any listed data."""
    assert wanted.passes(_card(count, data)) is passes


def test_a_filter_on_a_card_with_odd_values_does_not_pass_by_accident() -> None:
    """A count that is a string, a list of data that is not a list: read as not known."""
    odd = {"affected": {"value": "8500"}, "data": "health"}
    assert not CardFilter(10).passes(odd)
    assert not CardFilter(data=frozenset({"health"})).passes(odd)
    assert CardFilter(10, unknown_affected="alert").passes(odd)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("health, government ID", {"health", "government_id"}),
        ("SSN; passports and medical", {"government_id", "health"}),
        ("payment cards | credentials", {"financial", "credentials"}),
        ("employee-records", {"employee_records"}),
        ("", set()),
    ],
)
def test_data_categories_are_read_as_people_write_them(text: str, expected: set[str]) -> None:
    assert parse_data(text) == expected


def test_an_unknown_data_category_names_itself_and_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown data category 'blood type'; use names, contact"):
        parse_data("health, blood type")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(10_000, 10_000), ("10,000", 10_000), ("10k", 10_000), ("1.5 million", 1_500_000),
     ("2M", 2_000_000), (0, None), ("none", None), ("", None), (None, None)],
)  # fmt: skip
def test_a_threshold_is_read_as_people_write_it(raw: object, expected: int | None) -> None:
    assert parse_count(raw) == expected


@pytest.mark.parametrize("raw", ["ten thousand", "-5", "5 dozen", True, [1], "99999999999"])
def test_a_bad_threshold_is_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_count(raw)


def test_an_extraction_survives_its_json_and_odd_json_is_not_known() -> None:
    """What the store keeps reads back the same; a broken row reads as an empty extraction."""
    found = extract(
        "Casio says data of 8,500 people exposed in October ransomware attack",
        "Underground claimed it; names and addresses of employees leaked.",
        published=AT,
    )
    assert extraction_from_dict(json.loads(json.dumps(extraction_to_dict(found)))) == found
    assert extraction_from_dict({"affected": {"count": "x"}, "data": ["ssn"], "attack": 3}).empty
    assert extraction_from_dict(None).empty


def test_a_card_from_stored_rows_reads_old_rows_and_names_the_confirming_company() -> None:
    """A row stored before cards is read on the spot; a confirmation speaks as the company."""
    rows = [
        {"id": "a", "company": "Casio", "source": "bleepingcomputer", "evidence": "reported",
         "url": "https://b.test/1", "published": AT, "first_seen": AT, "card": None,
         "title": "Underground ransomware claims attack on Casio", "summary": ""},
        {"id": "b", "company": "Casio", "source": "casio-newsroom", "evidence": "confirmed",
         "url": "https://c.test/2", "published": None, "first_seen": datetime(2025, 1, 7, tzinfo=UTC),
         "card": extraction_to_dict(Extraction(Affected(8_478, "people", "exact", "stated", ""))),
         "title": "", "summary": ""},
    ]  # fmt: skip
    card = card_of(rows)
    assert card.actor is not None and card.actor.value == "Underground"
    assert card.affected is not None and card.affected.source == "Casio"
    assert [s.stage for s in card.timeline] == ["reported", "confirmed"]
    assert card_of(rows, without="b").affected is None


hostile = st.text(
    alphabet=st.sampled_from(list("ab @everyone@here<>&#*_~`|:\\[]()\u200b\u202e\n")), max_size=400
)


@settings(max_examples=40, deadline=None)
@given(actor=hostile, source=hostile, changes=st.lists(hostile, max_size=8))
def test_a_card_from_hostile_text_fits_and_pings_nobody(
    actor: str, source: str, changes: list[str]
) -> None:
    """Scraped group and source names in the card and in what changed stay escaped and the
    embed within Discord's limits, for an alert and for /lookup's full card."""
    sightings = [
        Sighting(
            Extraction(Affected(123, "people", "exact", "stated", ""), frozenset({"names"}),
                       "ransomware", actor or None),
            evidence, AT, source or "x", "https://example.com/" + source[:20],
        )
        for evidence in ("claimed", "reported", "confirmed")
    ]  # fmt: skip
    card = card_to_dict(merge(sightings))
    alert = {
        "kind": "update",
        "title": "t",
        "company": "c",
        "summary": "s" * 700,
        "card": card,
        "changes": [{"who": f"confirmed by {c}", "what": c} for c in changes],
        "sources": [{"source": source, "url": "https://example.com/s"}] * 12,
    }
    for embed in (
        channel_message(alert)["embeds"][0],
        card_embed(source, {"card": card, "sources": [(source, "https://e.com")] * 30}),
    ):
        assert embed_length(embed) <= TOTAL_MAX
        assert all(len(f["value"]) <= 1024 for f in embed["fields"])
        text = json.dumps(embed, ensure_ascii=False)
        assert "@everyone" not in text and "@here" not in text


def test_the_sample_alert_shows_a_card() -> None:
    """/alerts test shows what a real alert shows: the card's fields and its timeline."""
    fields = {f["name"]: f["value"] for f in alert_embed(sample_alert())["fields"]}
    assert fields["Affected"] == "8,500 people"
    assert fields["Attack"] == "ransomware"
    assert fields["Timeline"].splitlines()[-1].startswith("Confirmed")
