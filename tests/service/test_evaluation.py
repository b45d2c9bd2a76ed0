"""The labeled evaluation set: its figures hold and the command prints them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.service.evaluation import Scores, evaluate, load, parse_items

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scores() -> dict[str, Scores]:
    import asyncio

    watchlist, items = load()
    return asyncio.run(evaluate(watchlist, items))


def test_the_set_is_large_and_mixed() -> None:
    """At least 300 items, English and Japanese, with decoys and several outlets per incident."""
    _, items = load()
    assert len(items) >= 300
    japanese = [i for i in items if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", i.disclosure.title)]
    decoys = [i for i in items if not i.companies]
    assert len(japanese) >= 40
    assert len(decoys) >= 100
    assert {i.split for i in items} == {"dev", "heldout"}


@pytest.mark.parametrize("split", ["all", "dev", "heldout"])
def test_precision_and_recall_stay_above_the_floor(scores: dict[str, Scores], split: str) -> None:
    """Precision and recall on the labeled set never drop below 0.95."""
    assert scores[split].precision >= 0.95, scores[split].errors
    assert scores[split].recall >= 0.95, scores[split].errors


def test_grouping_stays_high(scores: dict[str, Scores]) -> None:
    """Incidents agree with the labeled groups for at least nine pairs in ten."""
    assert scores["all"].grouping >= 0.9, scores["all"].errors


def test_malformed_lines_are_refused() -> None:
    """A line with a field missing names the file and line."""
    with pytest.raises(ValueError, match="dev:1: expected 8 fields"):
        parse_items("Casio | g | 2024-10-08 | src | https://x.test | - | title only", "dev")
    with pytest.raises(ValueError, match="differ in number"):
        parse_items("A;B | g | 2024-10-08 | s | https://x.test | - | t | s", "dev")


def test_flags_become_structured_fields() -> None:
    """org, evidence and nature flags fill the disclosure as a structured source would."""
    [item] = parse_items(
        "X | g | 2024-10-08 | sec | https://x.test | org=Foo; Inc.,evidence=confirmed,nature"
        " | T | S",
        "dev",
    )
    assert item.disclosure.organization == "Foo, Inc."
    assert item.disclosure.evidence.value == "confirmed"
    assert item.disclosure.incident_by_nature


@pytest.mark.slow
def test_breachradar_eval_prints_the_figures_last() -> None:
    """`breachradar eval` prints the cards' lines per split and ends with the overall figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eval"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"precision=\d\.\d\d recall=\d\.\d\d grouping=\d\.\d\d", last)
    assert "heldout: items=" in result.stdout
    cards = {
        line.split(":")[0]: line for line in result.stdout.splitlines() if line.startswith("cards ")
    }
    assert set(cards) == {"cards dev", "cards heldout"}
    for line in cards.values():
        assert re.search(
            r"affected_precision=\d\.\d{3} affected_recall=\d\.\d{3} data_precision=\d\.\d{3}"
            r" data_recall=\d\.\d{3} attack_accuracy=\d\.\d{3} actor_precision=\d\.\d{3}",
            line,
        ), line


def test_eval_without_a_set_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing evaluation folder is a clear error, not a traceback."""
    from bot.cli import main

    assert main(["eval", "--data", str(tmp_path)]) == 2
    assert "no evaluation set in" in capsys.readouterr().err
