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


# Floors a little under the figures measured (tests/fixtures/eval/README.md): development
# P 0.99 R 1.00, held-out P 0.91 R 0.97. The held-out goal (0.98 for both) is not met yet.
FLOORS = {"all": (0.95, 0.97), "dev": (0.98, 0.99), "heldout": (0.90, 0.95)}


@pytest.mark.parametrize("split", ["all", "dev", "heldout"])
def test_precision_and_recall_stay_above_the_floor(scores: dict[str, Scores], split: str) -> None:
    """Precision and recall on each split never drop below what they measure today."""
    precision, recall = FLOORS[split]
    assert scores[split].precision >= precision, scores[split].errors
    assert scores[split].recall >= recall, scores[split].errors


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


def test_a_line_break_in_a_summary_is_written_as_backslash_n() -> None:
    """A name split across lines, as in a PDF notice, reaches the matcher split."""
    [item] = parse_items(
        "- | - | 2025-01-09 | theguardian | https://x.test | - | UK's M&S reports strong"
        " Christmas sales | British retailer Marks &\\nSpencer reported a rise in sales.",
        "dev",
    )
    assert "Marks &\nSpencer" in item.disclosure.summary


@pytest.mark.slow
def test_breachradar_eval_prints_the_figures_last() -> None:
    """`breachradar eval` ends with 'precision=.. recall=.. grouping=..'."""
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
    for split in ("dev", "heldout"):
        assert re.search(
            rf"^{split}: items=\d+ incidents=\d+ companies=\d+ ja=[01]\.\d\d precision=",
            result.stdout,
            re.M,
        ), result.stdout


def test_a_split_is_described_by_its_size_and_language() -> None:
    """items, labeled incidents and companies, and the share of Japanese headlines."""
    from bot.cli.evaluate import describe

    items = parse_items(
        "Casio | casio-2024 | 2024-10-08 | s | https://x.test | - | Casio hit | S\n"
        "Casio | casio-2024 | 2024-10-09 | s | https://x.test | - | カシオに攻撃 | S\n"
        "MoneyGram | mg-2024 | 2024-09-23 | s | https://x.test | - | MoneyGram hit | S\n"
        "- | - | 2024-09-23 | s | https://x.test | - | カシオの新製品 | S",
        "dev",
    )
    assert describe(items) == "items=4 incidents=2 companies=2 ja=0.50"


def test_eval_without_a_set_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing evaluation folder is a clear error, not a traceback."""
    from bot.cli import main

    assert main(["eval", "--data", str(tmp_path)]) == 2
    assert "no evaluation set in" in capsys.readouterr().err
