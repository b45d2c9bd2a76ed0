"""``breachradar eval``: precision, recall and grouping on the labeled evaluation set."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import TYPE_CHECKING, Any

from bot.cli._common import EXIT_CONFIG

if TYPE_CHECKING:
    from bot.service.evaluation import Item

NAME = "eval"
# Kana or kanji in a headline: a Japanese item.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def add_parser(sub: Any) -> None:
    evaluate = sub.add_parser(
        "eval", help="measure matching and incident grouping on the labeled evaluation set"
    )
    evaluate.add_argument("--data", metavar="DIR", help="evaluation folder (default: bundled)")
    evaluate.add_argument("--errors", action="store_true", help="list every wrong decision")


def describe(items: list[Item]) -> str:
    """The size of a split: items, labeled incidents and companies, share of Japanese items."""
    incidents = {g for i in items for g in i.groups}
    companies = {c for i in items for c in i.companies}
    japanese = sum(1 for i in items if _JAPANESE.search(i.disclosure.title))
    share = japanese / len(items) if items else 0.0
    return (
        f"items={len(items)} incidents={len(incidents)} companies={len(companies)} ja={share:.2f}"
    )


def command(args: argparse.Namespace) -> int:
    """Print precision, recall and grouping per split; the last line covers everything."""
    from pathlib import Path

    from bot.service.evaluation import bundled_set, evaluate, load

    directory = Path(args.data) if args.data else bundled_set()
    if not (directory / "watchlist.toml").is_file():
        print(f"breachradar: no evaluation set in {directory} (use --data DIR)", file=sys.stderr)
        return EXIT_CONFIG
    watchlist, items = load(directory)
    scores = asyncio.run(evaluate(watchlist, items))
    for split in sorted(s for s in scores if s != "all"):
        part = scores[split]
        mine = [i for i in items if i.split == split]
        print(f"{split}: {describe(mine)} {part.line()} clusters={part.clusters:.2f}")
        if args.errors:
            for error in part.errors:
                print(f"  {error}")
    print(scores["all"].line())
    return 0
