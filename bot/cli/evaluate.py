"""``breachradar eval``: precision, recall and grouping on the labeled evaluation set."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.cli._common import EXIT_CONFIG

NAME = "eval"


def add_parser(sub: Any) -> None:
    evaluate = sub.add_parser(
        "eval", help="measure matching and incident grouping on the labeled evaluation set"
    )
    evaluate.add_argument("--data", metavar="DIR", help="evaluation folder (default: bundled)")
    evaluate.add_argument("--errors", action="store_true", help="list every wrong decision")


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
        count = sum(1 for i in items if i.split == split)
        print(f"{split}: items={count} {part.line()} clusters={part.clusters:.2f}")
        if args.errors:
            for error in part.errors:
                print(f"  {error}")
    print(scores["all"].line())
    return 0
