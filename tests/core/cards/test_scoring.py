"""The label format of the card set and the scorer's arithmetic."""

from __future__ import annotations

import pytest

from bot.core.cards import Extraction, LabelError, Scores, parse_label, read_labels
from bot.core.cards.numbers import Affected

LINE = "https://example.test/a | 8500 | people | names;contact | ransomware | Underground | 2024-10 | -"


def test_a_label_line_parses_into_fields() -> None:
    """Eight fields, "-" for none, data split on ";"."""
    label = parse_label(LINE)
    assert (label.affected, label.affected_kind, label.data) == (
        8_500,
        "people",
        {"names", "contact"},
    )
    assert (label.attack, label.actor, label.began, label.discovered) == (
        "ransomware",
        "Underground",
        "2024-10",
        None,
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("https://x | 8500 | people | - | ransomware | - | -", "8 fields"),
        ("https://x | 8,500 | people | - | ransomware | - | - | -", "integer"),
        ("https://x | - | humans | - | ransomware | - | - | -", "affected_kind"),
        ("https://x | - | - | names;ssn | ransomware | - | - | -", "data categories"),
        ("https://x | - | - | - | hacking | - | - | -", "attack"),
        ("https://x | - | - | - | - | - | October | -", "date"),
    ],
)
def test_malformed_label_lines_say_why(line: str, reason: str) -> None:
    """Each malformed field gets an error naming it."""
    with pytest.raises(LabelError, match=reason):
        parse_label(line)


def test_read_labels_names_the_bad_line() -> None:
    """Comments and blanks are skipped; an error carries its line number."""
    with pytest.raises(LabelError, match="line 3"):
        read_labels(["# comment", "", "https://x | one | - | - | - | - | - | -"])


def test_scores_count_precision_and_recall_per_field() -> None:
    """A wrong number costs precision; a missing one costs recall; '-' attacks are not scored."""
    scores = Scores()
    label = parse_label(LINE)
    right = Extraction(
        Affected(8_500, "people", "exact", "stated", ""),
        frozenset({"names"}),
        "ransomware",
        "Underground",
    )
    wrong = Extraction(
        Affected(149, "people", "exact", "stated", ""),
        frozenset({"names", "health"}),
        "unknown",
        "LockBit",
    )
    scores.add(label, right)
    scores.add(label, wrong)
    scores.add(parse_label("https://b | - | - | - | - | - | - | -"), Extraction())
    figures = scores.figures()
    assert figures["affected_precision"] == 0.5 and figures["affected_recall"] == 0.5
    assert figures["data_precision"] == 2 / 3 and figures["data_recall"] == 2 / 4
    assert figures["attack_accuracy"] == 0.5  # two scored lines, one right
    assert figures["actor_precision"] == 0.5
    assert scores.line("dev").startswith(
        "cards dev: n=3 affected_precision=0.500 affected_recall=0.500 "
    )
