"""The labeled evaluation set: its figures hold and the command prints them."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core import incidents
from bot.core.matching import Match, Matcher
from bot.service.evaluation import (
    Key,
    Scores,
    evaluate,
    japanese,
    load,
    parse_items,
    partition,
    replay,
)
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def replayed() -> tuple[list[list[Match]], dict[Key, int]]:
    """The labeled set matched, and grouped one item after the other as published."""
    watchlist, items = load()
    matcher = Matcher(watchlist.companies)
    found = [matcher.match(i.disclosure) for i in items]
    return found, asyncio.run(replay(items, found, order="time"))


@pytest.fixture(scope="module")
def scores(replayed: tuple[list[list[Match]], dict[Key, int]]) -> dict[str, Scores]:
    watchlist, items = load()
    return asyncio.run(evaluate(watchlist, items, placed=replayed[1]))


def test_the_set_is_large_and_mixed() -> None:
    """1,200+ real headlines of 200+ incidents at 80+ companies, a fifth Japanese, with
    decoys; 35%+ of the incidents held out, none in both splits."""
    _, items = load()
    assert len(items) >= 1200
    incidents = {(c, g) for i in items for c, g in zip(i.companies, i.groups, strict=True)}
    assert len(incidents) >= 200
    assert len({c for c, _ in incidents}) >= 80
    assert sum(japanese(i) for i in items) >= 0.2 * len(items)
    assert sum(1 for i in items if not i.companies) >= 300
    splits: dict[tuple[str, str], set[str]] = {}
    for i in items:
        for key in zip(i.companies, i.groups, strict=True):
            splits.setdefault(key, set()).add(i.split)
    assert all(len(s) == 1 for s in splits.values()), [k for k, s in splits.items() if len(s) > 1]
    held_out = [k for k, s in splits.items() if s == {"heldout"}]
    assert len(held_out) >= 0.35 * len(incidents)
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


@pytest.mark.parametrize(("split", "floor"), [("dev", 0.96), ("heldout", 0.93)])
def test_grouping_stays_high(scores: dict[str, Scores], split: str, floor: float) -> None:
    """Incidents agree with the labeled groups for all but a few pairs of reports."""
    assert scores[split].grouping >= floor, scores[split].errors


def test_the_split_lines_describe_what_they_score(scores: dict[str, Scores]) -> None:
    """Each split says how many items, labeled incidents and companies it holds."""
    _, items = load()
    heldout = [i for i in items if i.split == "heldout"]
    line = scores["heldout"].split_line("heldout")
    assert line.startswith(f"heldout: items={len(heldout)} incidents=")
    assert re.search(r" companies=\d+ ja=0\.\d\d precision=", line)
    assert scores["dev"].items + scores["heldout"].items == scores["all"].items == len(items)


@pytest.mark.slow
def test_incidents_do_not_depend_on_the_order_items_arrive(
    tmp_path: Path, replayed: tuple[list[list[Match]], dict[Key, int]]
) -> None:
    """Over the whole labeled set, one by one as published, in reverse, shuffled, and as one
    shuffled backfill scan: the same incidents (as partitions of the matched items), and
    the same as the rules give each company's whole set at once."""
    watchlist, items = load()
    found, in_time = replayed

    async def other_orders() -> list[set[frozenset[Key]]]:
        runs = [("reverse", 0), ("shuffled", 7), ("backfill", 11)]
        # Opened (and migrated) one after the other; the replays then run side by side.
        stores = [await Store.open(f"sqlite+aiosqlite:///{tmp_path}/{o}.db") for o, _ in runs]
        try:
            placed = await asyncio.gather(
                *(
                    replay(items, found, order=o, seed=seed, store=store)
                    for (o, seed), store in zip(runs, stores, strict=True)
                )
            )
        finally:
            for store in stores:
                await store.close()
        return [partition(p) for p in placed]

    expected = partition(in_time)
    assert len(expected) > 200
    for other in asyncio.run(other_orders()):
        assert other == expected, (len(other - expected), len(expected - other))
    # The incremental placements agree with the rules applied to each company's whole set.
    by_company: dict[str, list[tuple[Key, incidents.Story]]] = {}
    for index, matches in enumerate(found):
        published = items[index].disclosure.published
        assert published is not None
        for match in matches:
            story = incidents.Story.of(items[index].disclosure, published)
            by_company.setdefault(match.company.name, []).append(
                ((index, match.company.name), story)
            )
    names = {c.name: incidents.names_of(c.name, c.aliases) for c in watchlist.companies}
    whole: set[frozenset[Key]] = set()
    for company, pairs in by_company.items():
        key_of = {story.key: key for key, story in pairs}
        for part in incidents.partition([s for _, s in pairs], names[company]):
            whole.add(frozenset(key_of[s.key] for s in part))
    assert expected == whole


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


USER_SET = """\
# company | group | published | source | url | flags | title | summary
Casio | casio-2023 | 2023-10-20 | bleepingcomputer | https://www.bleepingcomputer.com/news/security/casio-discloses-data-breach-impacting-customers-in-149-countries/ | - | Casio discloses data breach impacting customers in 149 countries | Japanese electronics maker Casio disclosed a data breach of its ClassPad education platform exposing customers in 149 countries.
Casio | casio-2023 | 2023-10-19 | itmedia | https://www.itmedia.co.jp/news/articles/2310/19/news160.html | - | カシオの教育アプリ「ClassPad.net」に不正アクセス　個人情報12万件超が流出 | カシオ計算機は、教育アプリ「ClassPad.net」のデータベースに不正アクセスがあり、個人情報12万件超が流出したと発表した。
Casio | casio-2024 | 2024-10-08 | bleepingcomputer | https://www.bleepingcomputer.com/news/security/casio-says-network-breach-causes-system-outages/ | - | Casio says network breach causes system outages | Japanese electronics manufacturer Casio disclosed that it suffered a network breach on October 5 that caused system outages.
Casio | casio-2024 | 2024-10-11 | casio-news | https://world.casio.com/news/2024/1011-incident/ | evidence=confirmed | Notice regarding information leakage due to unauthorized access | Casio Computer Co., Ltd. has confirmed that personal information was leaked by the ransomware attack of October 5.
- | - | 2024-09-12 | casio-news | https://world.casio.com/news/2024/0912-gshock/ | - | Casio releases new G-SHOCK watches | Casio announced new G-SHOCK models for the fall season.
"""


@pytest.mark.slow
def test_breachradar_eval_scores_a_users_own_folder_as_one_backfill(tmp_path: Path) -> None:
    """`breachradar eval --data DIR --order backfill` reads a folder in the documented
    format, one line per split (a file's name up to its first dash), the totals last."""
    (tmp_path / "watchlist.toml").write_text(
        '[[companies]]\nname = "Casio"\naliases = ["カシオ", "カシオ計算機"]\n', encoding="utf-8"
    )
    (tmp_path / "mine-press.txt").write_text(USER_SET, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eval", "--data", str(tmp_path), "--order", "backfill"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(
        "mine: items=5 incidents=2 companies=1 ja=0.20 precision=1.00 recall=1.00 grouping=1.00"
    ), result.stdout
    assert lines[-1] == "precision=1.00 recall=1.00 grouping=1.00"
    assert len(lines) == 2


def test_eval_without_a_set_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing evaluation folder is a clear error, not a traceback."""
    from bot.cli import main

    assert main(["eval", "--data", str(tmp_path)]) == 2
    assert "no evaluation set in" in capsys.readouterr().err
