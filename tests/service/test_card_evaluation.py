"""The labeled card set: it joins its texts, follows the matching set's split, and scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.cards import Scores
from bot.service.card_evaluation import CardSetError, evaluate, labels, texts
from bot.service.evaluation import bundled_set, parse_items

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def scores() -> dict[str, Scores]:
    return evaluate()


def test_the_set_is_large_english_and_japanese_and_joins_its_texts() -> None:
    """At least 400 labeled disclosures, 100 of them Japanese; every key names one text."""
    known = texts()
    found = labels()
    every = [label for split in found.values() for label in split]
    assert len(every) >= 400
    assert len({label.key for label in every}) == len(every)
    assert all(label.key in known for label in every)
    japanese = [label for label in every if not known[label.key].title.isascii()]
    assert len(japanese) >= 100


def test_the_held_out_labels_are_exactly_the_held_out_lines() -> None:
    """Every line of the matching set's held-out files has a label, and nothing else does."""
    held_out = {
        item.disclosure.url
        for path in sorted(bundled_set().glob("heldout-*.txt"))
        for item in parse_items(path.read_text(encoding="utf-8"), path.stem)
    }
    assert {label.key for label in labels()["heldout"]} == held_out


def test_the_fixture_texts_are_the_fixtures_records() -> None:
    """records.jsonl holds each recorded fixture's expected record as it is today."""
    copied = {
        json.loads(line)["key"]: json.loads(line)
        for line in (FIXTURES / "eval" / "cards" / "records.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    }
    current = {}
    for path in sorted(FIXTURES.glob("*/*.expected.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            key = f"fixture:{path.parent.name}/{path.name}#{record['guid'] or record['url']}"
            current[key] = {
                "key": key,
                "title": record["title"],
                "summary": record["summary"],
                "published": record["published"],
                "extra": record.get("extra") or {},
            }
    assert copied == current


def test_a_label_of_the_other_split_is_refused(tmp_path: Path) -> None:
    """A held-out line labeled in a development file is an error naming it."""
    line = (bundled_set() / "heldout-na.txt").read_text(encoding="utf-8").splitlines()[1]
    (tmp_path / "watchlist.toml").write_text("")
    (tmp_path / "heldout-na.txt").write_text(line + "\n", encoding="utf-8")
    (tmp_path / "cards").mkdir()
    url = line.split(" | ")[4]
    (tmp_path / "cards" / "dev.txt").write_text(f"{url} | - | - | - | - | - | - | -\n")
    with pytest.raises(CardSetError, match="heldout split, not dev"):
        evaluate(tmp_path)
    (tmp_path / "cards" / "dev.txt").write_text(
        "https://nowhere.test/x | - | - | - | - | - | - | -\n"
    )
    with pytest.raises(CardSetError, match="no text has the key"):
        evaluate(tmp_path)


def test_development_scores_stay_above_their_floors(scores: dict[str, Scores]) -> None:
    """Regression floors on the split the rules are tuned on (goals are read on held-out)."""
    f = scores["dev"].figures()
    assert f["affected_precision"] >= 0.93 and f["affected_recall"] >= 0.95  # type: ignore[operator]
    assert f["data_precision"] >= 0.95 and f["data_recall"] >= 0.95  # type: ignore[operator]
    assert f["attack_accuracy"] >= 0.94 and f["actor_precision"] >= 0.97  # type: ignore[operator]


def test_both_splits_are_scored_with_every_figure(scores: dict[str, Scores]) -> None:
    """dev and heldout each print a line with the six figures the goals name."""
    assert set(scores) == {"dev", "heldout"}
    for split, part in scores.items():
        line = part.line(split)
        for name in ("affected_precision=", "affected_recall=", "data_precision=",
                     "data_recall=", "attack_accuracy=", "actor_precision="):  # fmt: skip
            assert name in line
